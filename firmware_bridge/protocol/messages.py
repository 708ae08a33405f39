"""Typed messages of the display link protocol v1 and their payload encodings (docs/protocol.md).

Every message is a frozen dataclass with a ``TYPE`` code; :func:`encode_payload` and
:func:`decode_payload` convert between the dataclass and the little-endian payload bytes.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, Final


class MsgType(enum.IntEnum):
    ACK = 0x01
    HELLO = 0x02
    HELLO_ACK = 0x03
    PING = 0x04
    PONG = 0x05
    NAK = 0x06
    ERROR = 0x07
    RESET = 0x08
    BLIT = 0x10
    PRESENT = 0x11
    CLEAR = 0x12
    SET_BRIGHTNESS = 0x13
    SLEEP = 0x14
    WAKE = 0x15
    COPY = 0x16  # move a rectangle inside the back buffer (scrolling)
    EVENT = 0x20
    LOG = 0x21
    ENTER_BOOTLOADER = 0x30  # firmware update handover (docs/protocol.md section 11)


# Sequenced messages consume a sequence number and are acknowledged and retransmitted;
# the others are sent once (their senders retry at a higher level where needed).
SEQUENCED: Final = frozenset(
    {
        MsgType.RESET,
        MsgType.BLIT,
        MsgType.PRESENT,
        MsgType.CLEAR,
        MsgType.SET_BRIGHTNESS,
        MsgType.SLEEP,
        MsgType.WAKE,
        MsgType.COPY,
        MsgType.EVENT,
        MsgType.LOG,
        MsgType.ENTER_BOOTLOADER,
    }
)


class Reason(enum.IntEnum):
    """Reason codes carried by NAK and ERROR."""

    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_TYPE = 3
    UNSUPPORTED_VERSION = 4
    OUT_OF_SEQUENCE = 5
    NO_SESSION = 6
    BAD_RECT = 7
    BAD_ENCODING = 8
    TOO_LARGE = 9
    BUSY = 10
    BAD_PAYLOAD = 11


class Encoding(enum.IntEnum):
    RAW = 0
    PACKBITS = 1


class EventKind(enum.IntEnum):
    BUTTON = 1  # code: button id; value: ButtonAction
    SWIPE = 2  # code: SwipeDirection
    BATTERY = 3  # code: percent 0..100; value: 1 if charging else 0
    TEMPERATURE = 4  # value: centi-degrees Celsius, signed
    WORN = 5  # code: 1 put on, 0 taken off
    BOOT = 6  # code: reset cause (0 power-on, 1 watchdog, 2 RESET message)


class ButtonAction(enum.IntEnum):
    PRESS = 1
    LONG_PRESS = 2
    DOUBLE_PRESS = 3


class SwipeDirection(enum.IntEnum):
    FORWARD = 1
    BACKWARD = 2
    UP = 3
    DOWN = 4


class LogLevel(enum.IntEnum):
    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


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


# "SMP1" on the wire: a frame that merely decodes cannot take the port off this protocol.
ENTER_BOOTLOADER_MAGIC: Final = 0x31504D53


@dataclass(frozen=True)
class EnterBootloader:
    """Hand the port over to SMP (docs/protocol.md section 11)."""

    TYPE: ClassVar[MsgType] = MsgType.ENTER_BOOTLOADER
    magic: int = ENTER_BOOTLOADER_MAGIC
    idle_timeout_s: int = 0  # back to the application after this long without SMP; 0 = never


Message = (
    Ack | Hello | HelloAck | Ping | Pong | Nak | Error | Reset
    | Blit | Present | Clear | SetBrightness | Sleep | Wake | Copy | Event | Log | EnterBootloader
)  # fmt: skip

_HELLO = struct.Struct("<BBHI")
_HELLO_ACK = struct.Struct("<BBBHHBHBBBBI")
_U32 = struct.Struct("<I")
_NAK = struct.Struct("<BB")
_ERROR = struct.Struct("<BBB")
_BLIT = struct.Struct("<HHHHB")
_COPY = struct.Struct("<HHHHHH")
_EVENT = struct.Struct("<BBhI")
_ENTER_BOOTLOADER = struct.Struct("<IH")
MAX_BOARD_ID_LEN: Final = 32
_EMPTY: Final[dict[MsgType, Message]] = {
    MsgType.ACK: Ack(),
    MsgType.RESET: Reset(),
    MsgType.SLEEP: Sleep(),
    MsgType.WAKE: Wake(),
}


def encode_payload(msg: Message) -> bytes:
    if isinstance(msg, (Ack, Reset, Sleep, Wake)):
        return b""
    if isinstance(msg, Hello):
        return _HELLO.pack(msg.min_version, msg.max_version, msg.max_payload, msg.session_id)
    if isinstance(msg, HelloAck):
        board = msg.board_id.encode("ascii")
        if len(board) > MAX_BOARD_ID_LEN:
            raise ValueError(f"board_id longer than {MAX_BOARD_ID_LEN} bytes")
        fixed = _HELLO_ACK.pack(
            msg.version, msg.min_version, msg.max_version, msg.width_px, msg.height_px, msg.bpp,
            msg.max_payload, msg.window, *msg.fw_version, msg.session_id,
        )  # fmt: skip
        return fixed + bytes([len(board)]) + board
    if isinstance(msg, (Ping, Pong)):
        return _U32.pack(msg.token)
    if isinstance(msg, Nak):
        return _NAK.pack(msg.ref_seq, msg.reason)
    if isinstance(msg, Error):
        return _ERROR.pack(msg.ref_seq, msg.ref_type, msg.reason) + msg.detail.encode("utf-8")
    if isinstance(msg, Blit):
        return _BLIT.pack(msg.x, msg.y, msg.width_px, msg.height_px, msg.encoding) + msg.data
    if isinstance(msg, Present):
        return _U32.pack(msg.frame_id)
    if isinstance(msg, Copy):
        return _COPY.pack(msg.src_x, msg.src_y, msg.width_px, msg.height_px, msg.dst_x, msg.dst_y)
    if isinstance(msg, (Clear, SetBrightness)):
        return bytes([msg.level])
    if isinstance(msg, Event):
        return _EVENT.pack(msg.kind, msg.code, msg.value, msg.uptime_ms)
    if isinstance(msg, Log):
        return bytes([msg.level]) + msg.text.encode("utf-8")
    if isinstance(msg, EnterBootloader):
        return _ENTER_BOOTLOADER.pack(msg.magic, msg.idle_timeout_s)
    raise TypeError(f"not a protocol message: {msg!r}")


def _exact(payload: bytes, size: int, name: str) -> None:
    if len(payload) != size:
        raise PayloadError(f"{name} payload must be {size} bytes, got {len(payload)}")


def _at_least(payload: bytes, size: int, name: str) -> None:
    if len(payload) < size:
        raise PayloadError(f"{name} payload must be at least {size} bytes, got {len(payload)}")


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"{name} text is not UTF-8: {exc}") from None


def decode_payload(type_code: int, payload: bytes) -> Message:
    """Decode ``payload`` as a message of ``type_code``; PayloadError names what is wrong."""
    try:
        t = MsgType(type_code)
    except ValueError:
        raise PayloadError(f"unknown message type {type_code:#04x}") from None
    name = t.name
    if t in _EMPTY:
        _exact(payload, 0, name)
        return _EMPTY[t]
    if t is MsgType.HELLO:
        _exact(payload, _HELLO.size, name)
        return Hello(*_HELLO.unpack(payload))
    if t is MsgType.HELLO_ACK:
        _at_least(payload, _HELLO_ACK.size + 1, name)
        f = _HELLO_ACK.unpack_from(payload)
        n = payload[_HELLO_ACK.size]
        board = payload[_HELLO_ACK.size + 1 :]
        if n != len(board) or n > MAX_BOARD_ID_LEN:
            raise PayloadError(f"HELLO_ACK board id length {n} does not match {len(board)} bytes")
        try:
            board_id = board.decode("ascii")
        except UnicodeDecodeError:
            raise PayloadError("HELLO_ACK board id is not ASCII") from None
        return HelloAck(
            version=f[0], min_version=f[1], max_version=f[2], width_px=f[3], height_px=f[4],
            bpp=f[5], max_payload=f[6], window=f[7], fw_version=(f[8], f[9], f[10]),
            session_id=f[11], board_id=board_id,
        )  # fmt: skip
    if t in (MsgType.PING, MsgType.PONG, MsgType.PRESENT):
        _exact(payload, 4, name)
        (v,) = _U32.unpack(payload)
        return Ping(v) if t is MsgType.PING else Pong(v) if t is MsgType.PONG else Present(v)
    if t is MsgType.NAK:
        _exact(payload, _NAK.size, name)
        return Nak(*_NAK.unpack(payload))
    if t is MsgType.ERROR:
        _at_least(payload, _ERROR.size, name)
        seq, ref, reason = _ERROR.unpack_from(payload)
        return Error(seq, ref, reason, _text(payload[_ERROR.size :], name))
    if t is MsgType.BLIT:
        _at_least(payload, _BLIT.size, name)
        x, y, w, h, enc = _BLIT.unpack_from(payload)
        return Blit(x, y, w, h, enc, payload[_BLIT.size :])
    if t is MsgType.COPY:
        _exact(payload, _COPY.size, name)
        return Copy(*_COPY.unpack(payload))
    if t in (MsgType.CLEAR, MsgType.SET_BRIGHTNESS):
        _exact(payload, 1, name)
        return Clear(payload[0]) if t is MsgType.CLEAR else SetBrightness(payload[0])
    if t is MsgType.EVENT:
        _exact(payload, _EVENT.size, name)
        return Event(*_EVENT.unpack(payload))
    if t is MsgType.LOG:
        _at_least(payload, 1, name)
        return Log(payload[0], _text(payload[1:], name))
    if t is MsgType.ENTER_BOOTLOADER:
        _exact(payload, _ENTER_BOOTLOADER.size, name)
        return EnterBootloader(*_ENTER_BOOTLOADER.unpack(payload))
    raise AssertionError(f"unhandled message type {t!r}")  # pragma: no cover


BLIT_HEADER_LEN: Final = _BLIT.size
COPY_PAYLOAD_LEN: Final = _COPY.size
