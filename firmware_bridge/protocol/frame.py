"""Frames: a 7-byte header, a payload and a CRC-32, COBS-encoded and ended by 0x00.

Shared by the host link, the simulator's device side and the tests, so that every party
frames bytes the same way (docs/protocol.md, section "Framing").
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from firmware_bridge.protocol import cobs

PROTOCOL_VERSION: Final = 1
HEADER = struct.Struct("<BBBBBH")  # version, type, flags, seq, ack, payload length
HEADER_LEN: Final = HEADER.size  # 7
CRC_LEN: Final = 4
DELIMITER: Final = 0x00
# The largest payload the length field can express; a peer's real limit is negotiated at HELLO.
MAX_PAYLOAD_LIMIT: Final = 0xFFFF
# Every device must accept at least this payload, so HELLO and HELLO_ACK always fit.
MIN_PAYLOAD: Final = 64


def crc32(data: bytes) -> int:
    """CRC-32/ISO-HDLC (the zlib / Ethernet CRC): check value 0xCBF43926 over b"123456789"."""
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class Frame:
    """One frame as it is before COBS encoding; ``payload`` is the message body."""

    type: int
    seq: int = 0
    ack: int = 0
    payload: bytes = b""
    version: int = PROTOCOL_VERSION
    flags: int = 0


def encode_frame(frame: Frame) -> bytes:
    """The bytes that go on the wire for ``frame``, delimiter included."""
    if len(frame.payload) > MAX_PAYLOAD_LIMIT:
        raise ValueError(f"payload of {len(frame.payload)} bytes exceeds {MAX_PAYLOAD_LIMIT}")
    body = (
        HEADER.pack(
            frame.version, frame.type, frame.flags, frame.seq, frame.ack, len(frame.payload)
        )
        + frame.payload
    )
    return cobs.encode(body + struct.pack("<I", crc32(body))) + b"\x00"


def max_wire_len(max_payload: int) -> int:
    """Worst-case bytes on the wire for one frame with ``max_payload`` payload bytes."""
    return cobs.max_encoded_len(HEADER_LEN + max_payload + CRC_LEN) + 1


class FrameError(ValueError):
    """Bytes between two delimiters that are not a valid frame; ``reason`` is a short tag."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_frame(encoded: bytes) -> Frame:
    """Decode the bytes between two delimiters (delimiter excluded) into a checked Frame."""
    try:
        raw = cobs.decode(encoded)
    except cobs.CobsError as exc:
        raise FrameError("cobs", str(exc)) from None
    if len(raw) < HEADER_LEN + CRC_LEN:
        raise FrameError("short", f"{len(raw)} bytes is shorter than header and CRC")
    body, (crc,) = raw[:-CRC_LEN], struct.unpack("<I", raw[-CRC_LEN:])
    if crc32(body) != crc:
        raise FrameError("crc", f"CRC {crc:#010x} != computed {crc32(body):#010x}")
    version, type_, flags, seq, ack, length = HEADER.unpack_from(body)
    if length != len(body) - HEADER_LEN:
        raise FrameError(
            "length", f"header says {length} payload bytes, frame has {len(body) - HEADER_LEN}"
        )
    return Frame(
        type=type_, seq=seq, ack=ack, payload=body[HEADER_LEN:], version=version, flags=flags
    )


@dataclass
class DecoderStats:
    frames: int = 0
    crc_errors: int = 0
    malformed: int = 0  # bad COBS, too short, length mismatch
    overflows: int = 0  # longer than the negotiated maximum; discarded to the next delimiter
    bytes_discarded: int = 0


@dataclass
class FrameDecoder:
    """Splits a byte stream at 0x00 delimiters and yields frames or errors.

    Memory is bounded: a run of bytes longer than the largest valid frame is discarded up to
    the next delimiter (resynchronisation) and counted, never buffered.
    """

    max_payload: int = MAX_PAYLOAD_LIMIT
    stats: DecoderStats = field(default_factory=DecoderStats)
    _buf: bytearray = field(default_factory=bytearray, repr=False)
    _discarding: bool = False

    @property
    def max_encoded(self) -> int:
        return max_wire_len(self.max_payload) - 1

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> Iterator[Frame | FrameError]:
        start = 0
        limit = self.max_encoded
        while start < len(data):
            end = data.find(0, start)
            chunk_end = len(data) if end == -1 else end
            if not self._discarding:
                room = limit - len(self._buf)
                if chunk_end - start > room:
                    self.stats.overflows += 1
                    self.stats.bytes_discarded += len(self._buf) + (chunk_end - start)
                    self._buf.clear()
                    self._discarding = True
                else:
                    self._buf += data[start:chunk_end]
            else:
                self.stats.bytes_discarded += chunk_end - start
            if end == -1:
                return
            start = end + 1
            if self._discarding:
                self._discarding = False
                yield FrameError("overflow", f"frame longer than {limit} encoded bytes")
                continue
            if not self._buf:
                continue  # back-to-back delimiters are allowed as idle fill / resync
            encoded = bytes(self._buf)
            self._buf.clear()
            try:
                frame = parse_frame(encoded)
            except FrameError as err:
                if err.reason == "crc":
                    self.stats.crc_errors += 1
                else:
                    self.stats.malformed += 1
                self.stats.bytes_discarded += len(encoded)
                yield err
                continue
            self.stats.frames += 1
            yield frame
