"""HELLO / HELLO_ACK: when to say HELLO, which answer to accept, and version checks.

Each HELLO carries a fresh random session id and only the answer to the newest HELLO is
accepted. The byte stream is ordered, so by the time the device answers that HELLO it has
processed every earlier one: both ends start numbering from the same point. The wait doubles
per attempt (the link's one :class:`~firmware_bridge.backoff.Backoff`), so a round trip longer
than the first wait cannot starve the handshake.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from firmware_bridge.backoff import Backoff
from firmware_bridge.errors import HandshakeError, UnsupportedVersionError
from firmware_bridge.protocol.frame import PROTOCOL_VERSION, Frame, encode_frame
from firmware_bridge.protocol.messages import Hello, HelloAck, encode_payload

HOST_MIN_VERSION: Final = PROTOCOL_VERSION
HOST_MAX_VERSION: Final = PROTOCOL_VERSION


def random_session_id() -> int:
    return secrets.randbits(32)


@dataclass
class Handshake:
    """HELLO timing of one link; pure: the caller passes the time."""

    max_payload: int
    first_wait_s: float
    max_wait_s: float
    new_session_id: Callable[[], int] = random_session_id
    attempts: int = 0
    session_id: int | None = None
    due_s: float = 0.0
    sent_s: float = float("-inf")
    _flush: bool = field(default=True, repr=False)

    def start(self, now_s: float, *, flush: bool) -> None:
        """Begin (or restart) handshaking: the first HELLO is due now."""
        self.attempts = 0
        self.due_s = now_s
        self._flush = flush

    def hello_bytes(self, now_s: float) -> bytes:
        """The next HELLO on the wire; schedules the one after it."""
        self.session_id = self.new_session_id()
        self.attempts += 1
        waits = Backoff(self.first_wait_s, self.max_wait_s)
        self.due_s = now_s + waits.delay_after_s(self.attempts)
        self.sent_s = now_s
        hello = Hello(HOST_MIN_VERSION, HOST_MAX_VERSION, self.max_payload, self.session_id)
        frame = encode_frame(Frame(type=Hello.TYPE, payload=encode_payload(hello)))
        # A leading delimiter ends whatever partial frame the device holds (e.g. after a
        # host crash mid-frame), so the HELLO itself is not discarded as garbage.
        prefix = b"\x00" if self._flush else b""
        self._flush = False
        return prefix + frame

    def hurry(self, now_s: float) -> None:
        """The device announced that it has no session (it booted): say HELLO soon, but not
        for every stale frame it rejects right after our last HELLO."""
        if now_s - self.sent_s >= self.first_wait_s:
            self.due_s = min(self.due_s, now_s)

    def matches(self, ack: HelloAck) -> bool:
        return self.session_id is not None and ack.session_id == self.session_id


def version_error(ack: HelloAck) -> UnsupportedVersionError | None:
    """Why ``ack`` cannot start a session, or None if its version is one this host speaks."""
    if ack.version != 0 and HOST_MIN_VERSION <= ack.version <= HOST_MAX_VERSION:
        return None
    return UnsupportedVersionError(
        ack.min_version, ack.max_version, HOST_MIN_VERSION, HOST_MAX_VERSION, ack.board_id
    )


def unusable_display_error(ack: HelloAck, exc: Exception) -> HandshakeError:
    """The screen encoder cannot be built for the display ``ack`` describes."""
    return HandshakeError(
        f"cannot drive the display {ack.board_id!r} ({ack.width_px}x{ack.height_px} at "
        f"{ack.bpp} bpp, max payload {ack.max_payload}): {exc}"
    )


__all__ = [
    "HOST_MAX_VERSION",
    "HOST_MIN_VERSION",
    "Handshake",
    "random_session_id",
    "unusable_display_error",
    "version_error",
]
