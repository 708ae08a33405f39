"""Consistent Overhead Byte Stuffing (COBS): removes every 0x00 so that 0x00 can delimit frames.

Encoded length is at most ``n + ceil(n / 254) + 1`` bytes (plus the 0x00 delimiter on the wire).
"""

from __future__ import annotations

from typing import Final

MAX_BLOCK: Final = 254


class CobsError(ValueError):
    """The bytes between two delimiters are not valid COBS."""


def max_encoded_len(n: int) -> int:
    """Worst-case COBS output length for ``n`` input bytes (delimiter not included)."""
    return n + n // MAX_BLOCK + 1


def encode(data: bytes) -> bytes:
    out = bytearray()
    start = 0
    n = len(data)
    while True:
        # Each block is a code byte followed by up to 254 non-zero bytes.
        zero = data.find(0, start, start + MAX_BLOCK)
        if zero == -1:
            end = min(start + MAX_BLOCK, n)
            out.append(end - start + 1)
            out += data[start:end]
            if end == n:
                # A full block at the very end implies no zero, and needs no terminator block.
                return bytes(out)
            start = end
        else:
            out.append(zero - start + 1)
            out += data[start:zero]
            start = zero + 1
            if start == n:
                out.append(1)
                return bytes(out)


def decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError(f"zero byte inside a COBS block at offset {i}")
        end = i + code
        if end > n:
            raise CobsError(
                f"COBS block at offset {i} claims {code - 1} bytes, only {n - i - 1} left"
            )
        block = data[i + 1 : end]
        if 0 in block:
            raise CobsError(f"zero byte inside a COBS block at offset {i + 1 + block.index(0)}")
        out += block
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)
