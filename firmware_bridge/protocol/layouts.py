"""The message table of link protocol v1: every message's payload layout, declared once.

This is data, read by the codec (:mod:`.messages`) and by generators of other codecs (the C
header of the device library is generated from it or checked against it). Its shape:

``MESSAGE_LAYOUTS``: a tuple of :class:`MessageLayout`, in type-code order, one per message:

- ``code``: the :class:`~.codes.MsgType` (an ``int``); ``name`` is its name, e.g. ``"HELLO_ACK"``;
- ``direction``: :class:`Direction` ``.HOST_TO_DEVICE``, ``.DEVICE_TO_HOST`` or ``.BOTH``;
- ``sequenced``: numbered, acknowledged and retransmitted (docs/protocol.md section 8);
- ``fields``: the fixed part, a tuple of :class:`Field` in wire order, little-endian and packed
  (no padding). ``Field.fmt`` is one ``struct`` code (``B`` u8, ``H`` u16, ``h`` i16, ``I`` u32;
  ``C_TYPES`` maps them to ``<stdint.h>`` names), ``count`` > 1 makes an array (a tuple in
  Python), ``unit`` is ``"px"``, ``"ms"``, ``"s"`` or ``""``, ``codes`` names the enum of
  :mod:`.codes` the values come from (``""`` for plain numbers);
- ``tail``: ``None``, or the :class:`Tail` that fills the rest of the payload after the fixed
  part: ``kind`` ``"bytes"``, ``"utf8"`` or ``"ascii"``; ``length_prefixed``: a u8 byte count
  comes first and must equal the tail's length; ``max_len``: the most bytes it may hold, or
  ``None`` where only the frame size bounds it.

Derived: ``fixed_len`` (bytes of the fixed part), ``min_len`` (the smallest valid payload:
fixed part plus a length byte), ``max_len`` (``None`` when unbounded); a payload without a tail
is exactly ``fixed_len`` bytes. ``LAYOUTS_BY_CODE`` maps type codes to layouts, and the plain
``Final`` integers below are the limits and sizes other code needs.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from firmware_bridge.protocol.codes import MsgType

C_TYPES: Final[Mapping[str, str]] = {
    "B": "uint8_t",
    "H": "uint16_t",
    "h": "int16_t",
    "I": "uint32_t",
}


class Direction(enum.Enum):
    HOST_TO_DEVICE = "host->device"
    DEVICE_TO_HOST = "device->host"
    BOTH = "both"


@dataclass(frozen=True)
class Field:
    """A fixed-size field of a payload: ``count`` values of struct code ``fmt``."""

    name: str  # the message dataclass attribute and the field name in docs/protocol.md
    fmt: str
    unit: str = ""
    codes: str = ""
    count: int = 1

    def __post_init__(self) -> None:
        if self.fmt not in C_TYPES or self.count < 1:
            raise ValueError(
                f"field {self.name}: fmt must be one of {''.join(C_TYPES)}, count >= 1"
            )

    @property
    def size(self) -> int:
        return struct.calcsize("<" + self.fmt) * self.count


@dataclass(frozen=True)
class Tail:
    """The variable-length rest of a payload."""

    name: str
    kind: Literal["bytes", "utf8", "ascii"]
    max_len: int | None = None
    length_prefixed: bool = False


@dataclass(frozen=True)
class MessageLayout:
    code: MsgType
    direction: Direction
    sequenced: bool
    fields: tuple[Field, ...] = ()
    tail: Tail | None = None

    @property
    def name(self) -> str:
        return self.code.name

    @property
    def struct_format(self) -> str:
        """The fixed part as a ``struct`` format (``"<BBHI"``); arrays are repeated codes."""
        return "<" + "".join(f.fmt * f.count for f in self.fields)

    @property
    def fixed_len(self) -> int:
        return sum(f.size for f in self.fields)

    @property
    def min_len(self) -> int:
        return self.fixed_len + (1 if self.tail and self.tail.length_prefixed else 0)

    @property
    def max_len(self) -> int | None:
        if self.tail is None:
            return self.fixed_len
        return None if self.tail.max_len is None else self.min_len + self.tail.max_len


MAX_BOARD_ID_LEN: Final = 32
# "SMP1" on the wire: a frame that merely decodes cannot take the port off this protocol.
ENTER_BOOTLOADER_MAGIC: Final = 0x31504D53

_H2D, _D2H, _BOTH = Direction.HOST_TO_DEVICE, Direction.DEVICE_TO_HOST, Direction.BOTH
_U8, _U16, _I16, _U32 = "B", "H", "h", "I"

MESSAGE_LAYOUTS: Final[tuple[MessageLayout, ...]] = (
    MessageLayout(MsgType.ACK, _BOTH, sequenced=False),
    MessageLayout(
        MsgType.HELLO,
        _H2D,
        sequenced=False,
        fields=(
            Field("min_version", _U8),
            Field("max_version", _U8),
            Field("max_payload", _U16),
            Field("session_id", _U32),
        ),
    ),
    MessageLayout(
        MsgType.HELLO_ACK,
        _D2H,
        sequenced=False,
        fields=(
            Field("version", _U8),
            Field("min_version", _U8),
            Field("max_version", _U8),
            Field("width_px", _U16, "px"),
            Field("height_px", _U16, "px"),
            Field("bpp", _U8),
            Field("max_payload", _U16),
            Field("window", _U8),
            Field("fw_version", _U8, count=3),  # major, minor, patch
            Field("session_id", _U32),
        ),
        tail=Tail("board_id", "ascii", max_len=MAX_BOARD_ID_LEN, length_prefixed=True),
    ),
    MessageLayout(MsgType.PING, _H2D, sequenced=False, fields=(Field("token", _U32),)),
    MessageLayout(MsgType.PONG, _D2H, sequenced=False, fields=(Field("token", _U32),)),
    MessageLayout(
        MsgType.NAK,
        _BOTH,
        sequenced=False,
        fields=(Field("ref_seq", _U8), Field("reason", _U8, codes="Reason")),
    ),
    MessageLayout(
        MsgType.ERROR,
        _BOTH,
        sequenced=False,
        fields=(
            Field("ref_seq", _U8),
            Field("ref_type", _U8, codes="MsgType"),
            Field("reason", _U8, codes="Reason"),
        ),
        tail=Tail("detail", "utf8"),
    ),
    MessageLayout(MsgType.RESET, _H2D, sequenced=True),
    MessageLayout(
        MsgType.BLIT,
        _H2D,
        sequenced=True,
        fields=(
            Field("x", _U16, "px"),
            Field("y", _U16, "px"),
            Field("width_px", _U16, "px"),
            Field("height_px", _U16, "px"),
            Field("encoding", _U8, codes="Encoding"),
        ),
        tail=Tail("data", "bytes"),
    ),
    MessageLayout(MsgType.PRESENT, _H2D, sequenced=True, fields=(Field("frame_id", _U32),)),
    MessageLayout(MsgType.CLEAR, _H2D, sequenced=True, fields=(Field("level", _U8),)),
    MessageLayout(MsgType.SET_BRIGHTNESS, _H2D, sequenced=True, fields=(Field("level", _U8),)),
    MessageLayout(MsgType.SLEEP, _H2D, sequenced=True),
    MessageLayout(MsgType.WAKE, _H2D, sequenced=True),
    MessageLayout(
        MsgType.COPY,
        _H2D,
        sequenced=True,
        fields=(
            Field("src_x", _U16, "px"),
            Field("src_y", _U16, "px"),
            Field("width_px", _U16, "px"),
            Field("height_px", _U16, "px"),
            Field("dst_x", _U16, "px"),
            Field("dst_y", _U16, "px"),
        ),
    ),
    MessageLayout(
        MsgType.EVENT,
        _D2H,
        sequenced=True,
        fields=(
            Field("kind", _U8, codes="EventKind"),
            Field("code", _U8),
            Field("value", _I16),
            Field("uptime_ms", _U32, "ms"),
        ),
    ),
    MessageLayout(
        MsgType.LOG,
        _D2H,
        sequenced=True,
        fields=(Field("level", _U8, codes="LogLevel"),),
        tail=Tail("text", "utf8"),
    ),
    MessageLayout(
        MsgType.ENTER_BOOTLOADER,
        _H2D,
        sequenced=True,
        fields=(Field("magic", _U32), Field("idle_timeout_s", _U16, "s")),
    ),
)

LAYOUTS_BY_CODE: Final[Mapping[int, MessageLayout]] = {lay.code: lay for lay in MESSAGE_LAYOUTS}

BLIT_HEADER_LEN: Final = LAYOUTS_BY_CODE[MsgType.BLIT].fixed_len
COPY_PAYLOAD_LEN: Final = LAYOUTS_BY_CODE[MsgType.COPY].fixed_len
HELLO_ACK_MIN_LEN: Final = LAYOUTS_BY_CODE[MsgType.HELLO_ACK].min_len

# Sequenced messages consume a sequence number and are acknowledged and retransmitted;
# the others are sent once (their senders retry at a higher level where needed).
SEQUENCED: Final = frozenset(lay.code for lay in MESSAGE_LAYOUTS if lay.sequenced)
