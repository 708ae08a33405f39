"""How large screen frames may be on the wire we have, judged from how often they are lost.

A frame of ``n`` bytes survives a wire that loses or corrupts a fraction ``e`` of its bytes
with probability ``(1 - e) ** n``: at 1% that is 44% for an 80-byte frame and practically
never for a 4 KiB one, so on a noisy wire large BLITs are retransmitted forever. The governor
halves the BLIT payload while frames are often lost and doubles it back once the wire is clean.

It counts losses (the ARQ's go-backs and timeouts) against frames delivered, not resent frames:
go-back-N resends a whole window for one loss, which would make a wire look several times
worse than it is and pin frames at the minimum, where headers and the wait per loss cost more
than small frames save (``scripts/bench_link_noisy.py``). It decides only when the evidence
is clear (a Wilson score interval at 95 % lies wholly above or below the thresholds), so three
losses in a row are enough to halve a frame that never gets through, while a size that loses
one frame in ten is kept rather than swung back and forth, each shrink costing a new session.
It is pure: it reads the ARQ's counters, it keeps no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

MIN_PAYLOAD: Final = 48  # below this a frame is mostly header and CRC
SHRINK_ABOVE: Final = 0.15  # frame loss rate that halves the payload
GROW_BELOW: Final = 0.02  # frame loss rate that doubles it back
MEMORY_TRIALS: Final = 300  # about how many recent deliveries and losses are weighed
MIN_TRIALS: Final = 3  # one glitch on a clean wire is not yet evidence
Z_95: Final = 1.96


def loss_interval(lost: float, trials: float) -> tuple[float, float]:
    """95 % Wilson score interval of a loss rate seen as ``lost`` of ``trials``."""
    if trials <= 0:
        return 0.0, 1.0
    p, z2 = lost / trials, Z_95 * Z_95
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z_95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class FrameSizeGovernor:
    device_max: int
    """The device's receive limit (HELLO_ACK max_payload): never exceeded."""
    current: int = 0
    _totals: tuple[int, int] = (0, 0)  # the ARQ's (delivered, recoveries) last seen
    _delivered: float = 0.0  # evidence at the current size, recent weighing most
    _lost: float = 0.0

    def __post_init__(self) -> None:
        self.current = self.current or self.device_max

    def count_from(self, delivered: int, recoveries: int) -> None:
        """Evidence counts from these totals on (a new governor on an ARQ already used)."""
        self._totals = (delivered, recoveries)

    def judge(self, delivered: int, recoveries: int) -> int | None:
        """Feed the ARQ's running totals (``ArqStats.delivered``, ``.recoveries``); returns
        the new payload limit when it changes."""
        self._delivered += delivered - self._totals[0]
        self._lost += recoveries - self._totals[1]
        self._totals = (delivered, recoveries)
        seen = self._delivered + self._lost
        if seen > MEMORY_TRIALS:  # older evidence fades, so a wire that changes is noticed
            self._delivered *= MEMORY_TRIALS / seen
            self._lost *= MEMORY_TRIALS / seen
        if seen < MIN_TRIALS:
            return None
        low, high = loss_interval(self._lost, self._delivered + self._lost)
        if low > SHRINK_ABOVE and self.current > MIN_PAYLOAD:
            self.current = max(MIN_PAYLOAD, self.current // 2)
        elif high < GROW_BELOW and self.current < self.device_max:
            self.current = min(self.device_max, self.current * 2)
        else:
            return None
        self._delivered = self._lost = 0.0  # a new size: start judging it afresh
        return self.current
