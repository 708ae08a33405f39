"""A small synchronous display-protocol host for the moments around a firmware update.

``glasses flash`` needs only a handful of exchanges (HELLO, PING, ENTER_BOOTLOADER, RESET),
each with its own deadline, and must hand the port to SMP in between; the threaded
:class:`~firmware_bridge.link.DisplayLink` would keep the port and redraw the screen.
The rules are those of docs/protocol.md sections 7, 8 and 11.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Iterator
from types import TracebackType

from firmware_bridge.backoff import Backoff
from firmware_bridge.protocol import (
    SEQUENCED,
    EnterBootloader,
    Error,
    Event,
    EventKind,
    Hello,
    HelloAck,
    Message,
    MsgType,
    Ping,
    Pong,
    Reason,
    Reset,
    decode_payload,
    encode_payload,
)
from firmware_bridge.protocol.arq import seq_diff
from firmware_bridge.protocol.frame import Frame, FrameDecoder, encode_frame
from firmware_bridge.transport import open_transport

_READ_BYTES = 4096
_RETRY_FIRST_S, _RETRY_MAX_S = 0.2, 0.5  # quicker than a steady link: the device just reset


class HandoverRefused(Exception):
    """The device answered ENTER_BOOTLOADER with an ERROR."""


class DisplayProbe:
    """Opens ``url`` for a few exchanges; raises LinkError if it cannot be opened."""

    def __init__(self, url: str, baud: int) -> None:
        self.url = url
        self._port = open_transport(url, baud)
        self._decoder = FrameDecoder(max_payload=1024)
        self._rx_expected = 0  # next sequenced frame expected from the device (for our acks)
        self._flush = True
        self.boot_cause: int | None = None  # code of the device's EVENT(BOOT), once seen
        self._queue: deque[Frame] = deque()

    def close(self) -> None:
        self._port.close()

    def __enter__(self) -> DisplayProbe:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, msg: Message, seq: int = 0) -> None:
        frame = Frame(type=msg.TYPE, seq=seq, ack=self._rx_expected, payload=encode_payload(msg))
        # A leading delimiter ends whatever garbage the device holds (see protocol.md 3.4).
        self._port.write((b"\x00" if self._flush else b"") + encode_frame(frame))
        self._flush = False

    def _frames(self, until_s: float) -> Iterator[Frame]:
        """Frames as they arrive until ``until_s``; those a caller did not take (it stopped at
        an earlier frame of the same read) wait in a queue for the next call."""
        while True:
            while self._queue:
                frame = self._queue.popleft()
                self._note(frame)
                yield frame
            left = until_s - time.monotonic()
            if left <= 0:
                return
            data = self._port.read(_READ_BYTES, min(left, 0.05))
            self._queue.extend(f for f in self._decoder.feed(data) if isinstance(f, Frame))

    def _note(self, frame: Frame) -> None:
        if frame.type in SEQUENCED and frame.seq == self._rx_expected:
            self._rx_expected = (self._rx_expected + 1) % 256
        if frame.type == MsgType.EVENT and len(frame.payload) == 8:
            event = decode_payload(frame.type, frame.payload)
            if isinstance(event, Event) and event.kind == EventKind.BOOT:
                self.boot_cause = event.code

    def hello(self, timeout_s: float) -> HelloAck | None:
        """Start a session; the device's HELLO_ACK, or None if none came in time."""
        deadline, waits = time.monotonic() + timeout_s, Backoff(_RETRY_FIRST_S, _RETRY_MAX_S)
        while time.monotonic() < deadline:
            session_id = secrets.randbits(32)
            self._flush = True
            self._send(Hello(1, 1, 1024, session_id))
            wait = waits.next_delay_s()
            for frame in self._frames(min(deadline, time.monotonic() + wait)):
                if frame.type == MsgType.HELLO_ACK:
                    ack = decode_payload(frame.type, frame.payload)
                    if isinstance(ack, HelloAck) and ack.session_id == session_id and ack.version:
                        self._rx_expected = 0
                        return ack
        return None

    def ping(self, timeout_s: float) -> bool:
        """A PING round trip in the current session."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            token = secrets.randbits(32)
            self._send(Ping(token))
            for frame in self._frames(min(deadline, time.monotonic() + _RETRY_MAX_S)):
                if frame.type == MsgType.PONG and decode_payload(frame.type, frame.payload) == Pong(
                    token
                ):
                    return True
        return False

    def _sequenced(self, msg: Message, timeout_s: float) -> bool:
        """Send ``msg`` as seq 0 of a fresh session and wait for its acknowledgement.

        Raises HandoverRefused if the device answers it with ERROR (before acknowledging).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._send(msg, seq=0)
            for frame in self._frames(min(deadline, time.monotonic() + 0.5)):
                if frame.type == MsgType.ERROR:
                    err = decode_payload(frame.type, frame.payload)
                    if isinstance(err, Error) and err.ref_type == msg.TYPE:
                        raise HandoverRefused(f"{Reason(err.reason).name}: {err.detail}")
                elif frame.type == MsgType.NAK and frame.payload[1:2] == bytes([Reason.NO_SESSION]):
                    return False  # the device rebooted: the session is gone
                elif frame.type != MsgType.HELLO_ACK and seq_diff(frame.ack, 0) > 0:
                    return True
        return False

    def enter_bootloader(self, idle_timeout_s: int, timeout_s: float) -> bool:
        """Hand the port over to SMP; True once the device acknowledged ENTER_BOOTLOADER."""
        return self._sequenced(EnterBootloader(idle_timeout_s=idle_timeout_s), timeout_s)

    def reset(self, timeout_s: float) -> bool:
        """Reboot the device (display-protocol RESET); True once it announced its reboot
        (until then the old firmware may still answer, about 100 ms after the ACK)."""
        deadline = time.monotonic() + timeout_s
        if not self._sequenced(Reset(), timeout_s):
            return False
        for frame in self._frames(deadline):
            if frame.type == MsgType.NAK and frame.payload[1:2] == bytes([Reason.NO_SESSION]):
                return True
        return False


__all__ = ["DisplayProbe", "HandoverRefused"]
