"""The protocol's pixel format: levels 0..2**bpp-1 packed MSB-first into whole bytes per row.

A BLIT rectangle's ``x`` and width must be multiples of ``8 // bpp`` so every row starts and
ends on a byte boundary of the device frame buffer (no bit shifting on the MCU).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

SUPPORTED_BPP: Final = (1, 2, 4)

Levels = npt.NDArray[np.uint8]


def pixels_per_byte(bpp: int) -> int:
    if bpp not in SUPPORTED_BPP:
        raise ValueError(f"bits per pixel must be one of {SUPPORTED_BPP}, got {bpp}")
    return 8 // bpp


def row_bytes(width_px: int, bpp: int) -> int:
    return width_px * bpp // 8


def pack(levels: Levels, bpp: int) -> bytes:
    """Pack a (height, width) array of levels; width must be a multiple of 8 // bpp."""
    ppb = pixels_per_byte(bpp)
    h, w = levels.shape
    if w % ppb:
        raise ValueError(f"width {w} is not a multiple of {ppb} pixels at {bpp} bpp")
    if bpp == 1:
        return bytes(np.packbits(levels.astype(np.uint8, copy=False) & 1, axis=1).tobytes())
    groups = (levels.astype(np.uint8, copy=False) & ((1 << bpp) - 1)).reshape(h, w // ppb, ppb)
    shifts = np.arange(8 - bpp, -1, -bpp, dtype=np.uint8)
    packed: Levels = np.bitwise_or.reduce(groups << shifts, axis=2).astype(np.uint8)
    return packed.tobytes()


def unpack(data: bytes, width_px: int, height_px: int, bpp: int) -> Levels:
    ppb = pixels_per_byte(bpp)
    if width_px % ppb:
        raise ValueError(f"width {width_px} is not a multiple of {ppb} pixels at {bpp} bpp")
    expected = row_bytes(width_px, bpp) * height_px
    if len(data) != expected:
        raise ValueError(f"{len(data)} bytes do not hold {width_px}x{height_px} at {bpp} bpp")
    raw = np.frombuffer(data, dtype=np.uint8).reshape(height_px, width_px // ppb)
    if bpp == 1:
        bits: Levels = np.unpackbits(raw, axis=1)
        return bits
    shifts = np.arange(8 - bpp, -1, -bpp, dtype=np.uint8)
    mask = np.uint8((1 << bpp) - 1)
    levels: Levels = ((raw[:, :, None] >> shifts) & mask).reshape(height_px, width_px)
    return levels.astype(np.uint8)
