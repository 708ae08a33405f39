"""The numeric codes of link protocol v1 (docs/protocol.md sections 5.1 and 6).

Every enum here is an ``IntEnum``: its members are the plain integers of the wire, so a code
generator can read ``{member.name: int(member) for member in MsgType}``.
"""

from __future__ import annotations

import enum


class MsgType(enum.IntEnum):
    """Message type codes (the header ``type`` byte); layouts in :mod:`.layouts`."""

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
