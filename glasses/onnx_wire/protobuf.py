"""The protobuf wire format, read and written without the ``protobuf`` or ``onnx`` packages.

:mod:`.scan`, :mod:`.metadata` and :mod:`glasses.llm.graph_rewrite` walk ONNX files through a
memory map with this reader: fields are located by offset, so length-delimited payloads (the
weights, above all) are never copied unless a caller slices them out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

WIRE_VARINT, WIRE_FIXED64, WIRE_BYTES, WIRE_FIXED32 = 0, 1, 2, 5


class MalformedWire(Exception):
    """The bytes end in the middle of a field, or are not protobuf at all."""


@dataclass(frozen=True)
class Field:
    number: int
    wire: int
    start: int  # of the key: buf[start:end] is the whole field
    value_start: int  # of the payload (length-delimited) or of the varint
    end: int
    value: int  # varint value, or the payload length (0 for fixed-width fields)

    def payload(self, buf: memoryview) -> memoryview:
        """The bytes after the key (for a length-delimited field: its payload, as a view)."""
        return buf[self.value_start : self.end]


def read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    """The varint at ``buf[pos]`` and the position after it."""
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise MalformedWire
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(buf: memoryview, start: int = 0, end: int | None = None) -> Iterator[Field]:
    """The fields of the message in ``buf[start:end]`` (all of ``buf`` by default), in order."""
    pos, end = start, len(buf) if end is None else end
    while pos < end:
        key, value_start = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == WIRE_VARINT:
            value, stop = read_varint(buf, value_start)
        elif wire in (WIRE_FIXED64, WIRE_FIXED32):
            value, stop = 0, value_start + (8 if wire == WIRE_FIXED64 else 4)
        elif wire == WIRE_BYTES:
            value, value_start = read_varint(buf, value_start)
            stop = value_start + value
        else:  # groups (3, 4) are not used by ONNX; anything else is not protobuf
            raise MalformedWire
        if stop > end:
            raise MalformedWire
        yield Field(number, wire, pos, value_start, stop, value)
        pos = stop


def encode_varint(value: int) -> bytes:
    """``value`` as a varint; negative values as their 64-bit two's complement."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number: int, wire: int) -> bytes:
    return encode_varint(number << 3 | wire)


def bytes_field(number: int, payload: bytes) -> bytes:
    return key(number, WIRE_BYTES) + encode_varint(len(payload)) + payload


def int_field(number: int, value: int) -> bytes:
    return key(number, WIRE_VARINT) + encode_varint(value)
