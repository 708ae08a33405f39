"""Typed messages of the display link protocol v1 and their payload encodings (docs/protocol.md).

Every message is a frozen dataclass with a ``TYPE`` code whose attributes are the fields of its
layout in :data:`~.layouts.MESSAGE_LAYOUTS`, in wire order; :func:`encode_payload` and
:func:`decode_payload` convert between the dataclass and the little-endian payload bytes by
that table alone.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, get_args

from firmware_bridge.protocol.codes import (
    ButtonAction,
    Encoding,
    EventKind,
    LogLevel,
    MsgType,
    Reason,
    SwipeDirection,
)
from firmware_bridge.protocol.layouts import (
    BLIT_HEADER_LEN,
    COPY_PAYLOAD_LEN,
    ENTER_BOOTLOADER_MAGIC,
    LAYOUTS_BY_CODE,
    MAX_BOARD_ID_LEN,
    SEQUENCED,
    MessageLayout,
    Tail,
)


class PayloadError(ValueError):
    """A payload that does not match its message type's layout."""


@dataclass(frozen=True)
class Ack:
    TYPE: ClassVar[MsgType] = MsgType.ACK


@dataclass(frozen=True)
class Hello:
    TYPE: ClassVar[MsgType] = MsgType.HELLO
    min_version: int
    max_version: int
    max_payload: int  # the largest payload the host accepts
    session_id: int  # random per handshake; echoed in HELLO_ACK


@dataclass(frozen=True)
class HelloAck:
    TYPE: ClassVar[MsgType] = MsgType.HELLO_ACK
    version: int  # chosen protocol version; 0 = no version in common
    min_version: int
    max_version: int
    width_px: int
    height_px: int
    bpp: int
    max_payload: int  # the largest payload the device accepts
    window: int  # sequenced frames the device can buffer unacknowledged
    fw_version: tuple[int, int, int]
    session_id: int
    board_id: str


@dataclass(frozen=True)
class Ping:
    TYPE: ClassVar[MsgType] = MsgType.PING
    token: int


@dataclass(frozen=True)
class Pong:
    TYPE: ClassVar[MsgType] = MsgType.PONG
    token: int


@dataclass(frozen=True)
class Nak:
    TYPE: ClassVar[MsgType] = MsgType.NAK
    ref_seq: int
    reason: int


@dataclass(frozen=True)
class Error:
    TYPE: ClassVar[MsgType] = MsgType.ERROR
    ref_seq: int
    ref_type: int
    reason: int
    detail: str = ""


@dataclass(frozen=True)
class Reset:
    TYPE: ClassVar[MsgType] = MsgType.RESET


@dataclass(frozen=True)
class Blit:
    TYPE: ClassVar[MsgType] = MsgType.BLIT
    x: int
    y: int
    width_px: int
    height_px: int
    encoding: int
    data: bytes


@dataclass(frozen=True)
class Present:
    TYPE: ClassVar[MsgType] = MsgType.PRESENT
    frame_id: int


@dataclass(frozen=True)
class Clear:
    TYPE: ClassVar[MsgType] = MsgType.CLEAR
    level: int = 0


@dataclass(frozen=True)
class SetBrightness:
    TYPE: ClassVar[MsgType] = MsgType.SET_BRIGHTNESS
    level: int


@dataclass(frozen=True)
class Sleep:
    TYPE: ClassVar[MsgType] = MsgType.SLEEP


@dataclass(frozen=True)
class Wake:
    TYPE: ClassVar[MsgType] = MsgType.WAKE


@dataclass(frozen=True)
class Copy:
    """Copy a rectangle of the back buffer to another place in it, overlap-safe (memmove)."""

    TYPE: ClassVar[MsgType] = MsgType.COPY
    src_x: int
    src_y: int
    width_px: int
    height_px: int
    dst_x: int
    dst_y: int


@dataclass(frozen=True)
class Event:
    TYPE: ClassVar[MsgType] = MsgType.EVENT
    kind: int
    code: int = 0
    value: int = 0
    uptime_ms: int = 0


@dataclass(frozen=True)
class Log:
    TYPE: ClassVar[MsgType] = MsgType.LOG
    level: int
    text: str


@dataclass(frozen=True)
class EnterBootloader:
    """Hand the port over to SMP (docs/protocol.md section 11)."""

    TYPE: ClassVar[MsgType] = MsgType.ENTER_BOOTLOADER
    magic: int = ENTER_BOOTLOADER_MAGIC
    idle_timeout_s: int = 0  # back to the application after this long without SMP; 0 = never


Message = (
    Ack
    | Hello
    | HelloAck
    | Ping
    | Pong
    | Nak
    | Error
    | Reset
    | Blit
    | Present
    | Clear
    | SetBrightness
    | Sleep
    | Wake
    | Copy
    | Event
    | Log
    | EnterBootloader
)


@dataclass(frozen=True)
class _Codec:
    """A message's layout with what encoding and decoding it needs, worked out once."""

    layout: MessageLayout
    make: Callable[..., Message]
    fixed: struct.Struct
    counts: tuple[int, ...] | None  # per field, where any field is an array


def _codec(cls: Any) -> _Codec:
    layout = LAYOUTS_BY_CODE[cls.TYPE]
    wire = [f.name for f in layout.fields] + ([layout.tail.name] if layout.tail else [])
    attrs = [f.name for f in dataclasses.fields(cls)]
    if attrs != wire:  # decoding passes the fields positionally
        raise TypeError(
            f"{cls.__name__} fields {attrs} differ from the {layout.name} layout {wire}"
        )
    counts = tuple(f.count for f in layout.fields)
    arrays = counts if any(c > 1 for c in counts) else None
    return _Codec(layout, cls, struct.Struct(layout.struct_format), arrays)


_BY_CLASS: Final[Mapping[type, _Codec]] = {cls: _codec(cls) for cls in get_args(Message)}
_BY_CODE: Final[Mapping[int, _Codec]] = {c.layout.code: c for c in _BY_CLASS.values()}


def _encode_tail(tail: Tail, value: Any) -> bytes:
    raw: bytes = (
        value if tail.kind == "bytes" else value.encode("utf-8" if tail.kind == "utf8" else "ascii")
    )
    if tail.max_len is not None and len(raw) > tail.max_len:
        raise ValueError(f"{tail.name} longer than {tail.max_len} bytes")
    return bytes([len(raw)]) + raw if tail.length_prefixed else raw


def encode_payload(msg: Message) -> bytes:
    codec = _BY_CLASS.get(type(msg))
    if codec is None:
        raise TypeError(f"not a protocol message: {msg!r}")
    layout = codec.layout
    tail = b"" if layout.tail is None else _encode_tail(layout.tail, getattr(msg, layout.tail.name))
    values: list[Any] = []
    for f in layout.fields:
        value = getattr(msg, f.name)
        if f.count > 1:
            values.extend(value)  # arrays (tuples) go on the wire element by element
        else:
            values.append(value)
    return codec.fixed.pack(*values) + tail


def _exact(payload: bytes, size: int, name: str) -> None:
    if len(payload) != size:
        raise PayloadError(f"{name} payload must be {size} bytes, got {len(payload)}")


def _at_least(payload: bytes, size: int, name: str) -> None:
    if len(payload) < size:
        raise PayloadError(f"{name} payload must be at least {size} bytes, got {len(payload)}")


def _decode_tail(tail: Tail, payload: bytes, start: int, name: str) -> bytes | str:
    raw = payload[start + 1 :] if tail.length_prefixed else payload[start:]
    label = tail.name.replace("_", " ")
    if tail.length_prefixed:
        n = payload[start]
        if n != len(raw) or (tail.max_len is not None and n > tail.max_len):
            raise PayloadError(f"{name} {label} length {n} does not match {len(raw)} bytes")
    elif tail.max_len is not None and len(raw) > tail.max_len:
        raise PayloadError(f"{name} {label} longer than {tail.max_len} bytes")
    if tail.kind == "bytes":
        return raw
    try:
        return raw.decode("ascii" if tail.kind == "ascii" else "utf-8")
    except UnicodeDecodeError as exc:
        if tail.kind == "ascii":
            raise PayloadError(f"{name} {label} is not ASCII") from None
        raise PayloadError(f"{name} text is not UTF-8: {exc}") from None


def _grouped(values: tuple[Any, ...], counts: tuple[int, ...]) -> list[Any]:
    out: list[Any] = []
    i = 0
    for n in counts:
        out.append(values[i] if n == 1 else values[i : i + n])
        i += n
    return out


def decode_payload(type_code: int, payload: bytes) -> Message:
    """Decode ``payload`` as a message of ``type_code``; PayloadError names what is wrong."""
    codec = _BY_CODE.get(type_code)
    if codec is None:
        raise PayloadError(f"unknown message type {type_code:#04x}")
    layout, fixed = codec.layout, codec.fixed
    if layout.tail is None:
        _exact(payload, fixed.size, layout.name)
        values = fixed.unpack(payload)
    else:
        _at_least(payload, layout.min_len, layout.name)
        values = fixed.unpack_from(payload)
    args = list(values) if codec.counts is None else _grouped(values, codec.counts)
    if layout.tail is not None:
        args.append(_decode_tail(layout.tail, payload, fixed.size, layout.name))
    return codec.make(*args)


__all__ = [
    "BLIT_HEADER_LEN",
    "COPY_PAYLOAD_LEN",
    "ENTER_BOOTLOADER_MAGIC",
    "MAX_BOARD_ID_LEN",
    "SEQUENCED",
    "Ack",
    "Blit",
    "ButtonAction",
    "Clear",
    "Copy",
    "Encoding",
    "EnterBootloader",
    "Error",
    "Event",
    "EventKind",
    "Hello",
    "HelloAck",
    "Log",
    "LogLevel",
    "Message",
    "MsgType",
    "Nak",
    "PayloadError",
    "Ping",
    "Pong",
    "Present",
    "Reason",
    "Reset",
    "SetBrightness",
    "Sleep",
    "SwipeDirection",
    "Wake",
    "decode_payload",
    "encode_payload",
]
