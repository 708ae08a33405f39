"""How large screen frames may be on the wire we have, judged from how many get through.

A frame of ``n`` bytes survives a wire that loses or corrupts a fraction ``e`` of its bytes
with probability ``(1 - e) ** n``: at 1% that is 44% for an 80-byte frame and practically
never for a 4 KiB one, so on a noisy wire large BLITs are retransmitted forever. The governor
halves the BLIT payload while many frames need retransmission and doubles it back while the
wire is clean. It is pure: it reads the ARQ's counters, it keeps no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MIN_PAYLOAD: Final = 48  # below this a frame is mostly header and CRC
SAMPLE_FRAMES: Final = 24  # frames sent between two judgements
SHRINK_ABOVE: Final = 0.25  # retransmitted share that halves the payload
GROW_BELOW: Final = 0.02  # retransmitted share that doubles it back


@dataclass
class FrameSizeGovernor:
    device_max: int
    """The device's receive limit (HELLO_ACK max_payload): never exceeded."""
    current: int = 0
    _sent_mark: int = 0
    _retx_mark: int = 0

    def __post_init__(self) -> None:
        self.current = self.current or self.device_max

    def judge(self, frames_sent: int, retransmits: int) -> int | None:
        """Feed the ARQ's running totals; returns the new payload limit when it changes."""
        sent = frames_sent - self._sent_mark
        if sent < SAMPLE_FRAMES:
            return None
        share = (retransmits - self._retx_mark) / sent
        self._sent_mark, self._retx_mark = frames_sent, retransmits
        if share > SHRINK_ABOVE and self.current > MIN_PAYLOAD:
            self.current = max(MIN_PAYLOAD, self.current // 2)
            return self.current
        if share < GROW_BELOW and self.current < self.device_max:
            self.current = min(self.device_max, self.current * 2)
            return self.current
        return None
