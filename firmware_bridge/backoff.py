"""Exponential backoff, the one used by the link's reconnects and by glasses' retries
(microphone reopening, remote-model probes, the flasher's display probe)."""

from __future__ import annotations

from dataclasses import dataclass

# 2**1000 times any sane min_s is still a finite float: counts past it stay at max_s.
_MAX_DOUBLINGS = 1000


@dataclass
class Backoff:
    """Exponential wait: ``min_s``, doubled per failure up to ``max_s``; reset on success."""

    min_s: float
    max_s: float
    _next_s: float = 0.0

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._next_s = self.min_s

    @property
    def upcoming_s(self) -> float:
        """The wait the next failure gets, without counting one."""
        return self._next_s

    @property
    def failing(self) -> bool:
        """Whether a failure was counted since the last reset (the wait has grown)."""
        return self._next_s > self.min_s

    def next_delay_s(self) -> float:
        """Count a failure: its wait, and double the next one."""
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.max_s)
        return delay

    def delay_after_s(self, failures: int) -> float:
        """The wait after ``failures`` consecutive failures (>= 1), for callers that keep the
        count in their own state: what the ``failures``-th :meth:`next_delay_s` returns."""
        return min(self.min_s * 2.0 ** min(failures - 1, _MAX_DOUBLINGS), self.max_s)
