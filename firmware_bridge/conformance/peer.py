"""A raw protocol peer: the host side of the link with nothing hidden, so a check can send
malformed, duplicated and out-of-order frames on purpose and see every byte the device sends.

Unlike :class:`firmware_bridge.link.DisplayLink` it never retransmits, never reconnects and
numbers frames only when asked. It does acknowledge the device's EVENT and LOG frames (unless
``auto_ack`` is off), so that their retransmissions do not clutter what a check looks at.
Every wait is bounded by the reply timeout and by the running check's deadline.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Final, TypeVar

from firmware_bridge.protocol import (
    PROTOCOL_VERSION,
    SEQUENCED,
    Ack,
    Frame,
    FrameDecoder,
    FrameError,
    Hello,
    HelloAck,
    Message,
    MsgType,
    Nak,
    PayloadError,
    Ping,
    Pong,
    Reason,
    cobs,
    decode_payload,
    encode_frame,
    encode_payload,
)
from firmware_bridge.protocol.arq import seq_diff
from firmware_bridge.transport import Transport

HOST_MAX_PAYLOAD: Final = 4096  # what this peer announces in HELLO
TRANSCRIPT_LINES: Final = 80
_DEVICE_SEQUENCED: Final = frozenset({int(MsgType.EVENT), int(MsgType.LOG)})
Received = Frame | FrameError
M = TypeVar("M")


class CheckFailed(Exception):
    """The device did not do what the spec says; ``section`` overrides the check's own."""

    def __init__(self, expected: str, seen: str, section: str | None = None) -> None:
        super().__init__(f"expected {expected}; seen {seen}")
        self.expected, self.seen, self.section = expected, seen, section


class CheckSkipped(Exception):
    """The check does not apply to this device (the message says why)."""


def encode_corrupt(frame: Frame) -> bytes:
    """``frame`` on the wire with its CRC inverted in one bit: a ``crc`` rejection (§3.4)."""
    good = encode_frame(frame)
    raw = bytearray(cobs.decode(good[:-1]))
    raw[-1] ^= 0x80
    return cobs.encode(bytes(raw)) + b"\x00"


def describe(item: Received) -> str:
    """A frame as one short line: ``NAK(ref_seq=0, reason=NO_SESSION) seq=0 ack=0``."""
    if isinstance(item, FrameError):
        return f"rejected frame ({item.reason}: {item.detail})"
    try:
        name = MsgType(item.type).name
    except ValueError:
        name = f"type {item.type:#04x}"
    try:
        fields = vars(decode_payload(item.type, item.payload))
        body = ", ".join(f"{k}={_name(k, v)}" for k, v in fields.items())
    except PayloadError as exc:
        body = f"undecodable: {exc}"
    head = f" version={item.version}" if item.version != PROTOCOL_VERSION else ""
    return f"{name}({body}) seq={item.seq} ack={item.ack}{head}"


def _name(key: str, value: object) -> object:
    if key == "reason" and isinstance(value, int) and value in Reason._value2member_map_:
        return Reason(value).name
    if key == "ref_type" and isinstance(value, int) and value in MsgType._value2member_map_:
        return MsgType(value).name
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def decoded(frame: Frame) -> Message | None:
    try:
        return decode_payload(frame.type, frame.payload)
    except PayloadError:
        return None


class RawPeer:
    """The host end of one port, driven byte by byte by the checks."""

    def __init__(self, transport: Transport, reply_timeout_s: float = 1.0) -> None:
        self.transport = transport
        self.reply_timeout_s = reply_timeout_s
        self.deadline_s = float("inf")  # the running check's; set by the runner
        self.decoder = FrameDecoder(max_payload=HOST_MAX_PAYLOAD)
        self.inbox: deque[Received] = deque()
        self.transcript: deque[str] = deque(maxlen=TRANSCRIPT_LINES)
        self.tx_next = 0  # next seq this peer gives a sequenced frame
        self.rx_expected = 0  # next seq expected from the device (EVENT, LOG)
        self.auto_ack = True
        self.hello_ack: HelloAck | None = None
        self._tokens = itertools.count(secrets.randbits(24) << 8)

    # -- sending -------------------------------------------------------------------------

    def write(self, data: bytes, note: str) -> None:
        self.transcript.append(f"-> {note}")
        self.transport.write(data)

    def send(
        self,
        type_: int,
        payload: bytes = b"",
        *,
        seq: int = 0,
        ack: int | None = None,
        version: int = PROTOCOL_VERSION,
        note: str = "",
    ) -> Frame:
        """Send one frame exactly as given (``ack`` defaults to what this peer has received)."""
        frame = Frame(type_, seq, self.rx_expected if ack is None else ack, payload, version)
        self.write(encode_frame(frame), note or describe(frame))
        return frame

    def send_msg(self, msg: Message, *, seq: int | None = None, version: int = 1) -> int:
        """Send ``msg``; a sequenced one takes the next number unless ``seq`` is given.
        Returns the seq used."""
        if seq is None and msg.TYPE in SEQUENCED:
            seq, self.tx_next = self.tx_next, (self.tx_next + 1) % 256
        used = seq or 0
        self.send(msg.TYPE, encode_payload(msg), seq=used, version=version)
        return used

    def send_seq(self, type_: int, payload: bytes) -> int:
        """A sequenced frame with any payload (a malformed one, say) under the next number."""
        seq, self.tx_next = self.tx_next, (self.tx_next + 1) % 256
        self.send(type_, payload, seq=seq)
        return seq

    # -- receiving -----------------------------------------------------------------------

    def next(self, timeout_s: float) -> Received | None:
        """The next frame or rejection from the device; None after ``timeout_s`` (bounded by
        the check's deadline)."""
        end = min(time.monotonic() + timeout_s, self.deadline_s)
        while not self.inbox:
            left = end - time.monotonic()
            if left <= 0:
                return None
            data = self.transport.read(8192, min(left, 0.2))
            for item in self.decoder.feed(data):
                self._ingest(item)
        return self.inbox.popleft()

    def _ingest(self, item: Received) -> None:
        self.transcript.append(f"<- {describe(item)}")
        self.inbox.append(item)
        if isinstance(item, FrameError) or item.type not in _DEVICE_SEQUENCED:
            return
        d = seq_diff(item.seq, self.rx_expected)
        if d == 0:
            self.rx_expected = (self.rx_expected + 1) % 256
        if d <= 0 and self.auto_ack:  # in order, or a duplicate: (re-)acknowledge
            self.send(Ack.TYPE, ack=self.rx_expected)

    def until(
        self, match: Callable[[Received], bool], what: str, timeout_s: float | None = None
    ) -> list[Received]:
        """Frames up to and including the first that ``match``es; CheckFailed naming ``what``
        and the frames seen instead if none comes in time."""
        seen: list[Received] = []
        timeout = self.reply_timeout_s if timeout_s is None else timeout_s
        end = time.monotonic() + timeout
        while True:
            item = self.next(end - time.monotonic())
            if item is None:
                waited = (
                    "the check's time limit"
                    if time.monotonic() >= self.deadline_s
                    else (f"{timeout:g} s")
                )
                raise CheckFailed(what, summary(seen, f"nothing within {waited}"))
            seen.append(item)
            if match(item):
                return seen

    def barrier(self) -> list[Received]:
        """PING and wait for its PONG: the device handles frames in order, so everything it
        sent in answer to earlier frames is in the returned list (PONG last)."""
        token = next(self._tokens) & 0xFFFFFFFF
        self.send_msg(Ping(token))
        return self.until(lambda f: msg_of(f, Pong) == Pong(token), f"PONG(token={token})")

    def hello(
        self, min_version: int = 1, max_version: int = 1, session_id: int | None = None
    ) -> HelloAck:
        """Handshake (§7.3): a delimiter, HELLO, and its HELLO_ACK; numbering restarts."""
        sid = secrets.randbits(32) if session_id is None else session_id
        self.write(b"\x00", "00 (delimiter)")
        self.send_msg(Hello(min_version, max_version, HOST_MAX_PAYLOAD, sid))
        frames = self.until(
            lambda f: getattr(msg_of(f, HelloAck), "session_id", None) == sid,
            f"HELLO_ACK echoing session_id {sid:#010x} (§7.3)",
        )
        ack = msg_of(frames[-1], HelloAck)
        assert ack is not None
        self.tx_next = self.rx_expected = 0
        self.hello_ack = ack
        return ack


def msg_of(item: Received, cls: type[M]) -> M | None:
    """The message in ``item`` if it is a valid frame of class ``cls`` (e.g. ``Nak``)."""
    if not isinstance(item, Frame) or item.type != getattr(cls, "TYPE", None):
        return None
    msg = decoded(item)
    return msg if isinstance(msg, cls) else None


def is_nak(item: Received, reason: Reason, ref_seq: int | None = None) -> bool:
    nak = msg_of(item, Nak)
    return nak is not None and nak.reason == reason and ref_seq in (None, nak.ref_seq)


def summary(items: list[Received], empty: str = "nothing") -> str:
    """The frames seen, for a failure message (the last few if there were many)."""
    if not items:
        return empty
    shown = [describe(i) for i in items[-6:]]
    more = f"{len(items) - 6} frames, then " if len(items) > 6 else ""
    return more + "; ".join(shown)


__all__ = [
    "HOST_MAX_PAYLOAD",
    "CheckFailed",
    "RawPeer",
    "Received",
    "describe",
    "encode_corrupt",
    "is_nak",
    "msg_of",
    "summary",
]
