"""The display link protocol v1 (docs/protocol.md): framing, messages and pixel coding.

Pure code with no I/O, shared by the host link, the simulator's device side and the tests.
"""

from firmware_bridge.protocol.frame import (
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    FrameError,
    encode_frame,
    max_wire_len,
    parse_frame,
)
from firmware_bridge.protocol.messages import (
    SEQUENCED,
    Ack,
    Blit,
    ButtonAction,
    Clear,
    Copy,
    Encoding,
    EnterBootloader,
    Error,
    Event,
    EventKind,
    Hello,
    HelloAck,
    Log,
    LogLevel,
    Message,
    MsgType,
    Nak,
    PayloadError,
    Ping,
    Pong,
    Present,
    Reason,
    Reset,
    SetBrightness,
    Sleep,
    SwipeDirection,
    Wake,
    decode_payload,
    encode_payload,
)

__all__ = [
    "PROTOCOL_VERSION", "SEQUENCED", "Ack", "Blit", "ButtonAction", "Clear", "Copy", "Encoding",
    "EnterBootloader", "Error", "Event", "EventKind", "Frame", "FrameDecoder", "FrameError", "Hello", "HelloAck",
    "Log", "LogLevel", "Message", "MsgType", "Nak", "PayloadError", "Ping", "Pong", "Present",
    "Reason", "Reset", "SetBrightness", "Sleep", "SwipeDirection", "Wake", "decode_payload",
    "encode_frame", "encode_payload", "max_wire_len", "parse_frame",
]  # fmt: skip
