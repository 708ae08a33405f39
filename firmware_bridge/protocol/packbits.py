"""PackBits run-length coding of packed pixel rows (BLIT encoding 1).

A control byte ``c`` is followed by ``c + 1`` literal bytes when ``c`` is 0..127, or by one
byte repeated ``257 - c`` times when ``c`` is 129..255; 128 is a no-op. An MCU decodes it
straight into its frame buffer with no heap. Worst case output: ``n + ceil(n / 128)`` bytes.
"""

from __future__ import annotations

from typing import Final

import numpy as np

MAX_CHUNK: Final = 128
# A run of 3 is where a repeat chunk (2 bytes) beats staying inside a literal chunk.
MIN_RUN: Final = 3


class PackBitsError(ValueError):
    """Compressed data that is truncated or decodes to the wrong length."""


def max_encoded_len(n: int) -> int:
    return n + (n + MAX_CHUNK - 1) // MAX_CHUNK


def encode(data: bytes) -> bytes:
    n = len(data)
    if n == 0:
        return b""
    arr = np.frombuffer(data, dtype=np.uint8)
    # Boundaries of runs of equal bytes, found in C; the Python loop then visits runs, not bytes.
    starts = np.flatnonzero(np.concatenate(([True], arr[1:] != arr[:-1])))
    lengths = np.diff(np.append(starts, n))
    out = bytearray()
    lit_start = 0  # start of the pending literal span
    for start, run_len in zip(starts.tolist(), lengths.tolist(), strict=True):
        if run_len < MIN_RUN:
            continue
        _literal(out, data, lit_start, start)
        value = data[start]
        length = run_len
        while length > 0:
            k = min(length, MAX_CHUNK)
            if k < MIN_RUN:
                # A tail too short to repeat goes out as a literal.
                out.append(k - 1)
                out += bytes([value]) * k
            else:
                out.append(257 - k)
                out.append(value)
            length -= k
        lit_start = start + run_len
    _literal(out, data, lit_start, n)
    return bytes(out)


def _literal(out: bytearray, data: bytes, start: int, end: int) -> None:
    while start < end:
        k = min(end - start, MAX_CHUNK)
        out.append(k - 1)
        out += data[start : start + k]
        start += k


def decode(data: bytes, expected_len: int) -> bytes:
    """Decode ``data``; it must produce exactly ``expected_len`` bytes (the BLIT rectangle)."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        c = data[i]
        i += 1
        if c < 128:
            k = c + 1
            if i + k > n:
                raise PackBitsError(f"literal of {k} bytes at offset {i - 1} runs past the end")
            chunk = data[i : i + k]
            i += k
        elif c > 128:
            if i >= n:
                raise PackBitsError(f"repeat at offset {i - 1} has no value byte")
            chunk = bytes([data[i]]) * (257 - c)
            i += 1
        else:
            continue
        if len(out) + len(chunk) > expected_len:
            raise PackBitsError(f"decodes to more than the {expected_len} bytes expected")
        out += chunk
    if len(out) != expected_len:
        raise PackBitsError(f"decodes to {len(out)} bytes, expected {expected_len}")
    return bytes(out)
