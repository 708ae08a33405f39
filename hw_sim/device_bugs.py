"""Deliberate spec violations of the simulated device, for testing the conformance checker.

``glasses-sim display --bug copy-overlap`` makes the board knowingly non-conformant, so
``glasses conformance`` can be shown to catch it and name the section broken. These are not
wire faults (:mod:`hw_sim.faults`: lost bytes and bit errors on a conformant link) but a
firmware that gets the protocol wrong; the normal device code knows nothing of them.
"""

from __future__ import annotations

import enum
from typing import Any

from firmware_bridge.protocol import SEQUENCED, Copy, Frame, FrameError, Message
from firmware_bridge.protocol.arq import seq_diff
from hw_sim.device import DisplayDevice
from hw_sim.framebuffer import DrawError, Framebuffer, copy_rect
from hw_sim.profiles import Profile

_SEQUENCED_CODES = frozenset(int(t) for t in SEQUENCED)


class DeviceBug(enum.Enum):
    COPY_OVERLAP = "copy-overlap"
    """§9.6 broken: COPY moves rows in the wrong order, so overlapping rectangles smear."""
    NO_DUP_ACK = "no-dup-ack"
    """§8.3 broken: a duplicate sequenced frame is dropped without re-acknowledging it."""


def wrong_order_copy(fb: Framebuffer, msg: Copy) -> None:
    """COPY validated as usual, then rows copied bottom-up when moving up and top-down when
    moving down: each row read after an overlapping one overwrote it."""
    copy_rect(fb.back.copy(), fb.bpp, msg)  # the checks only (raises DrawError), on a scratch
    sx, sy, w, h, dx, dy = msg.src_x, msg.src_y, msg.width_px, msg.height_px, msg.dst_x, msg.dst_y
    for r in range(h - 1, -1, -1) if dy < sy else range(h):
        fb.back[dy + r, dx : dx + w] = fb.back[sy + r, sx : sx + w].copy()


class BuggyDisplayDevice(DisplayDevice):
    """A :class:`DisplayDevice` with the given ``bugs`` switched on."""

    def __init__(self, profile: Profile, bugs: frozenset[DeviceBug], *args: Any, **kw: Any):
        self.bugs = bugs
        super().__init__(profile, *args, **kw)

    def _handle(self, item: Frame | FrameError, now_s: float) -> None:
        if (
            DeviceBug.NO_DUP_ACK in self.bugs
            and isinstance(item, Frame)
            and self.session
            and item.version == self.version
            and item.type in _SEQUENCED_CODES
            and seq_diff(item.seq, self.arq.rx_expected) < 0
        ):
            return  # dropped silently: the host waits for an ACK that never comes
        super()._handle(item, now_s)

    def _dispatch(self, msg: Message, frame: Frame, now_s: float) -> None:
        if DeviceBug.COPY_OVERLAP in self.bugs and isinstance(msg, Copy):
            try:
                wrong_order_copy(self.fb, msg)
            except DrawError as exc:
                self._error(frame, exc.reason, exc.detail)
            return
        super()._dispatch(msg, frame, now_s)


__all__ = ["BuggyDisplayDevice", "DeviceBug", "wrong_order_copy"]
