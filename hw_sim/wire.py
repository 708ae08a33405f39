"""Wire timing: a UART moves one byte per 10 bit times (start, 8 data, stop bits).

A pty or a local socket moves bytes instantly; pacing every read and write with a
:class:`Pacer` makes the simulated link as slow as the real one, so a host that sends too
much per frame is caught on the bench and not first on the glasses.
"""

from __future__ import annotations

from typing import Final

BITS_PER_BYTE: Final = 10


class Pacer:
    """A token bucket at ``baud / 10`` bytes per second.

    ``burst_s`` worth of bytes may pass at once, so a loop that wakes up every few
    milliseconds keeps the full rate without the wire ever running ahead of real time.
    Pure: the time is passed in.
    """

    def __init__(self, baud: int, burst_s: float = 0.004) -> None:
        if baud <= 0:
            raise ValueError("baud must be positive")
        self.baud = baud
        self.bytes_per_s = baud / BITS_PER_BYTE
        self.burst_s = max(burst_s, 1 / self.bytes_per_s)  # at least one byte
        self._free_at_s = float("-inf")  # when the wire has sent everything handed to it
        self.total_bytes = 0

    def _start_s(self, now_s: float) -> float:
        return max(self._free_at_s, now_s - self.burst_s)

    def allowance(self, now_s: float) -> int:
        """Bytes that may go on the wire now."""
        return max(0, int((now_s - self._start_s(now_s)) * self.bytes_per_s + 1e-9))

    def consume(self, n: int, now_s: float) -> None:
        """``n`` bytes went on the wire at ``now_s``."""
        self._free_at_s = self._start_s(now_s) + n / self.bytes_per_s
        self.total_bytes += n

    def ready_s(self, now_s: float, n: int = 1) -> float:
        """When at least ``n`` more bytes may go (``n`` is capped to one burst)."""
        n = max(1, min(n, int(self.burst_s * self.bytes_per_s)))
        return max(now_s, self._start_s(now_s) + n / self.bytes_per_s)

    def wire_time_s(self, n: int) -> float:
        return n / self.bytes_per_s
