"""Latency figures and counters kept by the daemon: pure data, no clock, no I/O.

Histograms have fixed bucket bounds (milliseconds, roughly 1-2-5 steps), so memory stays
constant however long the daemon runs; quantiles are read from the buckets (the upper bound of
the bucket holding the quantile, capped by the largest value seen): "p95 50 ms" means 95 % of
the values were at most 50 ms, not that the 95th percentile is 50 ms.

Time a screen spent waiting for the display link to come back (glasses unplugged, out of
range) is not the display's latency: :func:`present_observations` files it apart, as
``display.link_wait``, and leaves it out of ``display.present`` and the ``e2e.*`` figures.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

BOUNDS_MS: Final = (
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    200.0,
    300.0,
    500.0,
    750.0,
    1000.0,
    1500.0,
    2000.0,
    3000.0,
    5000.0,
    10000.0,
    30000.0,
)


@dataclass
class Histogram:
    """Counts of values (ms) per bucket ``(BOUNDS_MS[i-1], BOUNDS_MS[i]]``, plus an overflow."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))
    count: int = 0
    total_ms: float = 0.0
    min_ms: float = math.inf
    max_ms: float = 0.0
    last_ms: float = 0.0

    def observe(self, value_ms: float) -> None:
        value_ms = max(0.0, value_ms)
        self.counts[bisect.bisect_left(BOUNDS_MS, value_ms)] += 1
        self.count += 1
        self.total_ms += value_ms
        self.min_ms = min(self.min_ms, value_ms)
        self.max_ms = max(self.max_ms, value_ms)
        self.last_ms = value_ms

    def quantile_ms(self, q: float) -> float:
        """An upper estimate of the ``q`` quantile (0 < q <= 1); 0 when empty."""
        if not 0 < q <= 1:
            raise ValueError(f"quantile must be in (0, 1], got {q}")
        if not self.count:
            return 0.0
        rank = math.ceil(q * self.count)
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                bound = BOUNDS_MS[i] if i < len(BOUNDS_MS) else self.max_ms
                return min(bound, self.max_ms)
        return self.max_ms  # pragma: no cover - the counts always reach the rank

    def summary(self) -> dict[str, float]:
        if not self.count:
            return {"count": 0}
        return {
            "count": self.count,
            "mean_ms": round(self.total_ms / self.count, 2),
            "p50_ms": round(self.quantile_ms(0.5), 2),
            "p95_ms": round(self.quantile_ms(0.95), 2),
            "min_ms": round(self.min_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "last_ms": round(self.last_ms, 2),
        }


@dataclass
class Metrics:
    """Named histograms and counters; names are dotted, e.g. ``latency.final_to_present``."""

    histograms: dict[str, Histogram] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def observe_ms(self, name: str, value_ms: float) -> None:
        self.histograms.setdefault(name, Histogram()).observe(value_ms)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def snapshot(self) -> dict[str, object]:
        return {
            "latency": {k: h.summary() for k, h in sorted(self.histograms.items())},
            "counters": dict(sorted(self.counters.items())),
        }


def present_observations(
    cause: str,
    cause_at_s: float | None,
    rendered_s: float,
    wire_s: float | None,
    presented_s: float,
    link_down: Sequence[tuple[float, float]] = (),
) -> dict[str, float]:
    """The histograms (ms) one presented screen adds to, from its timestamps (seconds).

    ``link_down`` holds the ``(from_s, to_s)`` spans between rendering and the device's
    acknowledgement when the link was down: their total goes to ``display.link_wait`` only,
    and comes off the present and end-to-end figures (off the time to the wire, the part of it
    before the first write).
    """

    def down_before(t: float) -> float:
        return sum(max(0.0, min(t, b) - a) for a, b in link_down if b > a)

    wait_s = down_before(presented_s)
    out = {"display.present": max(0.0, presented_s - rendered_s - wait_s) * 1000}
    if wait_s > 0:
        out["display.link_wait"] = wait_s * 1000
    if cause_at_s is not None:
        out[f"e2e.{cause}_to_present"] = max(0.0, presented_s - cause_at_s - wait_s) * 1000
        if wire_s is not None:
            out[f"e2e.{cause}_to_wire"] = max(0.0, wire_s - cause_at_s - down_before(wire_s)) * 1000
    return out
