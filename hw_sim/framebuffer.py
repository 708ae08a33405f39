"""The device's double-buffered frame memory: BLIT, COPY and CLEAR draw into the back
buffer and PRESENT copies it to the front (the panel), so a half-drawn frame is never shown.

Buffers hold one level (0..2**bpp-1) per pixel as uint8; the wire's packed form is decoded
with the shared protocol code, exactly as the MCU firmware does it.
"""

from __future__ import annotations

import numpy as np

from firmware_bridge.protocol import packbits
from firmware_bridge.protocol.messages import Blit, Copy, Encoding, Reason
from firmware_bridge.protocol.pixels import Levels, pixels_per_byte, row_bytes, unpack


class DrawError(ValueError):
    """A drawing command the device rejects; ``reason`` goes into the ERROR message."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.name}: {detail}")
        self.reason = reason
        self.detail = detail


def copy_rect(back: Levels, bpp: int, msg: Copy) -> None:
    """Apply COPY to the ``(height, width)`` buffer ``back`` at ``bpp``: move a rectangle as
    ``memmove`` would (the source is read as it was before the copy, whatever the overlap); on
    a bad rectangle nothing changes.  A function, so that other models of the device (the
    link tests' fake) apply COPY exactly as the simulator does."""
    height_px, width_px = back.shape
    sx, sy, w, h = msg.src_x, msg.src_y, msg.width_px, msg.height_px
    dx, dy = msg.dst_x, msg.dst_y
    ppb = pixels_per_byte(bpp)
    if w == 0 or h == 0:
        raise DrawError(Reason.BAD_RECT, f"empty rectangle {w}x{h}")
    if sx % ppb or dx % ppb or w % ppb:
        raise DrawError(Reason.BAD_RECT, f"src_x={sx} dst_x={dx} w={w} not multiples of {ppb} px")
    for name, x, y in (("source", sx, sy), ("destination", dx, dy)):
        if x + w > width_px or y + h > height_px:
            raise DrawError(
                Reason.BAD_RECT, f"{name} {w}x{h}+{x}+{y} outside {width_px}x{height_px}"
            )
    # As the firmware does it (docs/protocol.md section 9.6): rows in the order that never
    # reads a row already overwritten, each row moved like memmove.
    rows = range(h) if dy < sy else range(h - 1, -1, -1)
    for r in rows:
        row = back[sy + r, sx : sx + w].copy()  # memmove within the row
        back[dy + r, dx : dx + w] = row


class Framebuffer:
    """Front and back level arrays of shape (height, width)."""

    def __init__(self, width_px: int, height_px: int, bpp: int) -> None:
        self.width_px = width_px
        self.height_px = height_px
        self.bpp = bpp
        self.max_level = (1 << bpp) - 1
        self.front: Levels = np.zeros((height_px, width_px), dtype=np.uint8)
        self.back: Levels = np.zeros((height_px, width_px), dtype=np.uint8)

    def reset(self) -> None:
        """Power-on state: both buffers black."""
        self.front.fill(0)
        self.back.fill(0)

    def present(self) -> None:
        # Copy, not swap: the back buffer keeps its content so hosts can send only what changed.
        np.copyto(self.front, self.back)

    def clear(self, level: int) -> None:
        if level > self.max_level:
            raise DrawError(Reason.BAD_PAYLOAD, f"level {level} > {self.max_level}")
        self.back.fill(level)

    def blit(self, msg: Blit) -> None:
        """Decode ``msg`` into the back buffer; on any error the buffer is left unchanged."""
        levels = self.decode(msg)
        self.back[msg.y : msg.y + msg.height_px, msg.x : msg.x + msg.width_px] = levels

    def copy(self, msg: Copy) -> None:
        """Move a rectangle inside the back buffer: see :func:`copy_rect`."""
        copy_rect(self.back, self.bpp, msg)

    def decode(self, msg: Blit) -> Levels:
        """Validate ``msg`` against the panel and return its pixels as levels."""
        x, y, w, h = msg.x, msg.y, msg.width_px, msg.height_px
        ppb = pixels_per_byte(self.bpp)
        if w == 0 or h == 0:
            raise DrawError(Reason.BAD_RECT, f"empty rectangle {w}x{h}")
        if x % ppb or w % ppb:
            raise DrawError(Reason.BAD_RECT, f"x={x} w={w} not multiples of {ppb} px")
        if x + w > self.width_px or y + h > self.height_px:
            raise DrawError(
                Reason.BAD_RECT, f"{w}x{h}+{x}+{y} outside {self.width_px}x{self.height_px}"
            )
        expected = row_bytes(w, self.bpp) * h
        if msg.encoding == Encoding.RAW:
            if len(msg.data) != expected:
                raise DrawError(Reason.BAD_LENGTH, f"{len(msg.data)} bytes, need {expected}")
            raw = msg.data
        elif msg.encoding == Encoding.PACKBITS:
            try:
                raw = packbits.decode(msg.data, expected)
            except packbits.PackBitsError as exc:
                raise DrawError(Reason.BAD_ENCODING, str(exc)) from None
        else:
            raise DrawError(Reason.BAD_ENCODING, f"unknown encoding {msg.encoding}")
        return unpack(raw, w, h, self.bpp)
