#!/usr/bin/env python3
"""Coverage-guided fuzzing of the link protocol decoders with atheris (optional tool).

atheris is not a dependency of the project or its tests; install it by hand to use this:

    pip install atheris
    python scripts/fuzz_protocol.py -max_total_time=600 /tmp/fuzz-corpus

The first input byte picks a target and a mode:

- bit 0: 0 = host side (FrameDecoder -> decode_payload), 1 = device side (hw_sim DisplayDevice);
- bit 1: 0 = the rest is the raw byte stream; 1 = the rest is a list of raw frames
  (``u8 length`` + header and payload) that this harness completes with CRC, COBS and delimiter,
  so the fuzzer gets past the CRC and explores messages and the session logic.

Any exception other than PayloadError from decode_payload, or a broken invariant, is a crash.
The hypothesis tests in tests/test_protocol_fuzz.py check the same properties on every run.
"""

from __future__ import annotations

import contextlib
import struct
import sys

import atheris

with atheris.instrument_imports():
    from firmware_bridge.protocol import (
        Frame,
        FrameDecoder,
        FrameError,
        PayloadError,
        cobs,
        decode_payload,
    )
    from firmware_bridge.protocol.frame import MIN_PAYLOAD, crc32
    from hw_sim.device import DisplayDevice
    from hw_sim.profiles import PROFILES

PROFILE = PROFILES["128x64x1"]  # small buffers: overflows are easy to reach


def framed(data: bytes) -> bytes:
    """Interpret ``data`` as length-prefixed raw frames and put each on the wire."""
    out = bytearray()
    i = 0
    while i < len(data):
        n = data[i]
        body = data[i + 1 : i + 1 + n]
        i += 1 + n
        out += cobs.encode(body + struct.pack("<I", crc32(body))) + b"\x00"
    return bytes(out)


def host_side(stream: bytes) -> None:
    decoder = FrameDecoder(max_payload=256)
    for item in decoder.feed(stream):
        assert decoder.buffered <= decoder.max_encoded
        if isinstance(item, FrameError):
            continue
        with contextlib.suppress(PayloadError):
            decode_payload(item.type, item.payload)
    assert decoder.buffered <= decoder.max_encoded


def device_side(stream: bytes) -> None:
    device = DisplayDevice(PROFILE, 0.0)
    host = FrameDecoder()
    now = 0.0
    for start in range(0, len(stream), 64):
        device.receive_bytes(stream[start : start + 64], now)
        assert device.decoder.buffered <= device.decoder.max_encoded
        now += 0.03 if stream[start] & 1 else 0.7  # sometimes long enough to retransmit
        for item in host.feed(device.poll(now)):
            assert isinstance(item, Frame), f"device sent a malformed frame: {item}"
            decode_payload(item.type, item.payload)
            assert item.type == 0x21 or len(item.payload) <= MIN_PAYLOAD


def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0], data[1:]
    stream = framed(rest) if mode & 2 else rest
    if mode & 1:
        device_side(stream)
    else:
        host_side(stream)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
