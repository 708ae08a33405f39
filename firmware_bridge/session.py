"""The decision logic of a display link, with no thread, clock or port.

:class:`LinkSession` takes received bytes, port events and the time as data and says what to
write and when to be called next. :class:`~firmware_bridge.link.DisplayLink` runs it on a
thread; tests run it against a device model with a fake clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from firmware_bridge.commands import CommandQueue
from firmware_bridge.config import LinkConfig
from firmware_bridge.errors import LinkError
from firmware_bridge.frame_size import FrameSizeGovernor
from firmware_bridge.handshake import (
    Handshake,
    random_session_id,
    unusable_display_error,
    version_error,
)
from firmware_bridge.protocol.arq import Arq
from firmware_bridge.protocol.frame import PROTOCOL_VERSION, Frame, FrameDecoder, FrameError
from firmware_bridge.protocol.messages import (
    SEQUENCED,
    Error,
    Event,
    EventKind,
    HelloAck,
    Log,
    Message,
    MsgType,
    Nak,
    PayloadError,
    Pong,
    Reason,
    decode_payload,
)
from firmware_bridge.screen import EncoderFactory, ScreenPipeline, check_target
from firmware_bridge.stats import DeviceInfo, LinkState, LinkStats
from firmware_bridge.traffic import Traffic

log = logging.getLogger(__name__)

# Events of other kinds are acknowledged and otherwise ignored (docs/protocol.md, 6.2).
_EVENT_KINDS: Final = frozenset(int(k) for k in EventKind)
_KNOWN_TYPES: Final = frozenset(int(t) for t in MsgType)
# An ERROR for one of these means the device screen no longer matches the compositor's mirror.
_SCREEN_TYPES: Final = frozenset({MsgType.BLIT, MsgType.COPY, MsgType.PRESENT, MsgType.CLEAR})


class LinkSession:
    """Handshake, keepalive, loss detection, screen and command flow of one link."""

    def __init__(
        self,
        config: LinkConfig,
        encoder_factory: EncoderFactory,
        *,
        new_session_id: Callable[[], int] = random_session_id,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.keepalive_s, self.link_timeout_s = config.keepalive_s, config.link_timeout_s
        # Read once more after building a screen update (the compositor takes milliseconds),
        # so the Arq times the frames from when they are written. None: pure, time as given.
        self._clock = clock
        self.arq = Arq(config.arq_config())
        self.decoder = FrameDecoder(max_payload=config.max_payload)
        self.screen = ScreenPipeline(encoder_factory)
        self.handshake = Handshake(
            config.max_payload, config.hello_timeout_s, config.hello_retry_max_s, new_session_id
        )
        self.traffic = Traffic(config.max_events)
        self.state = LinkState.CONNECTING
        self.device: DeviceInfo | None = None
        self.fatal: LinkError | None = None  # retrying cannot help; the owner stops
        self.last_error: LinkError | None = None  # newest port error, for timeout messages
        self.transitions: list[LinkState] = []  # drained by the owner to report changes
        self._port_open = False
        self._outbox: list[bytes] = []
        self._commands = CommandQueue(config.max_commands)
        self._queued_no = 0  # sequenced messages given to the Arq this session
        self._frame_size: FrameSizeGovernor | None = None  # kept across sessions: same wire

    def set_keepalive(self, keepalive_s: float | None) -> None:
        """PING after ``keepalive_s`` of silence (None: the configured interval); the link-lost
        timeout keeps its ratio to it (3 missed keepalives, protocol §8.5)."""
        c = self.config
        self.keepalive_s = c.keepalive_s if keepalive_s is None else keepalive_s
        if self.keepalive_s <= 0:
            raise ValueError(f"keepalive_s must be positive, got {keepalive_s}")
        self.link_timeout_s = self.keepalive_s * c.link_timeout_s / c.keepalive_s

    # -- port events ---------------------------------------------------------------------

    def port_opened(self, now_s: float) -> None:
        self._port_open = True
        self.decoder = FrameDecoder(max_payload=self.config.max_payload)  # drop partial bytes
        self._restart(now_s, flush=True)

    def port_failed(self, error: LinkError) -> None:
        self.last_error = error

    def port_lost(self, error: LinkError) -> None:
        self._port_open = False
        self.last_error = error
        self._end_session()
        self._set_state(LinkState.LOST if self.device else LinkState.CONNECTING)

    def fail(self, error: LinkError) -> None:
        """Stop for good with ``error`` (reported to every waiter)."""
        self.fatal = self.fatal or error
        self.close()

    def close(self) -> None:
        self._port_open = False
        self._end_session()
        self._set_state(LinkState.CLOSED)

    # -- owner requests ------------------------------------------------------------------

    def show(self, levels: npt.NDArray[np.integer] | int) -> int:
        """Make ``levels`` (or one level everywhere) the newest target; returns its generation."""
        return self.screen.submit(check_target(levels, self.device))

    def command(self, msg: Message) -> None:
        """Queue a sequenced command; raises QueueFullError when ``max_commands`` wait."""
        self._commands.push(msg)

    # -- time and bytes ------------------------------------------------------------------

    def poll(self, now_s: float) -> list[bytes]:
        """Everything to write now; call after :meth:`receive` and at :meth:`next_wakeup_s`."""
        if self._port_open and self.fatal is None:
            if self.state is LinkState.CONNECTED:
                self._poll_connected(now_s)
            elif now_s >= self.handshake.due_s:
                self._outbox.append(self.handshake.hello_bytes(now_s))
        out, self._outbox = self._outbox, []
        self.traffic.sent(out)
        return out

    def next_wakeup_s(self, now_s: float) -> float:
        """When :meth:`poll` has work next (absent new bytes or requests)."""
        if not self._port_open or self.fatal is not None:
            return float("inf")
        if self.state is not LinkState.CONNECTED:
            return self.handshake.due_s
        wake = self.traffic.deadline_s(self.keepalive_s, self.link_timeout_s)
        if self.arq.unacked:
            wake = min(wake, now_s + self.arq.rto_s / 4)  # the Arq's timer is private
        return wake

    def receive(self, data: bytes, now_s: float) -> None:
        self.traffic.bytes_rx += len(data)
        for item in self.decoder.feed(data):
            if isinstance(item, FrameError):
                if item.reason == "crc":
                    self.traffic.crc_errors += 1
                else:
                    self.traffic.bad_frames += 1
                # Any rejection may be a lost sequenced frame: ask for a go-back (once).
                if self.state is LinkState.CONNECTED:
                    self._outbox += self.arq.corrupt_frame_seen(now_s)
                continue
            self.traffic.frames_rx += 1
            if item.version != PROTOCOL_VERSION:
                self.traffic.bad_frames += 1
                continue
            self.traffic.last_rx_s = now_s  # any good frame proves the device is alive
            self._on_frame(item, now_s)

    # -- internals -----------------------------------------------------------------------

    def _poll_connected(self, now_s: float) -> None:
        silent_s = now_s - self.traffic.last_rx_s
        if silent_s >= self.link_timeout_s:
            log.warning("display link lost: nothing heard for %.1f s", silent_s)
            self._restart(now_s, flush=False)
            self._outbox.append(self.handshake.hello_bytes(now_s))
            return
        ping = self.traffic.keepalive(now_s, self.keepalive_s)
        if ping is not None:
            self._outbox.append(self.arq.encode_unsequenced(ping))
        arq = self.arq
        while self._commands and arq.pending + arq.unacked < arq.window:
            arq.queue(self._commands.pop())
            self._queued_no += 1
        if self._frame_size is not None:
            limit = self._frame_size.judge(arq.stats.delivered, arq.stats.recoveries)
            if limit is not None:
                log.info("display link: screen frames now up to %d bytes of payload", limit)
                self.screen.limit_payload(limit)
                if arq.largest_payload > limit:
                    # Frames already numbered are too large to get through: start a new
                    # session, whose full-screen resend is cut to the new size.
                    self._restart(now_s, flush=False)
                    self._outbox.append(self.handshake.hello_bytes(now_s))
                    return
        acked = self._queued_no - arq.pending - arq.unacked
        room = arq.window - arq.pending - arq.unacked
        for msg in self.screen.next_messages(acked, self._queued_no, room):
            arq.queue(msg)
            self._queued_no += 1
        if self._clock is not None:
            now_s = max(now_s, self._clock())
        self._outbox += arq.poll(now_s)

    def _on_frame(self, frame: Frame, now_s: float) -> None:
        if frame.type == MsgType.HELLO_ACK:
            self._on_hello_ack(frame, now_s)
            return
        if frame.type == MsgType.NAK:
            nak = self._decode(frame)
            if isinstance(nak, Nak) and nak.reason == Reason.NO_SESSION:
                # The device has no session (it rebooted); the frame's ack means nothing.
                self.traffic.naks += 1
                if self.state is LinkState.CONNECTED:
                    log.info("the display has no session (rebooted?): saying HELLO again")
                    self._restart(now_s, flush=False)
                else:
                    self.handshake.hurry(now_s)
                return
        if self.state is not LinkState.CONNECTED:
            return  # leftovers of an earlier session
        try:
            msgs, out = self.arq.receive(frame, now_s)
        except PayloadError as exc:
            self.traffic.bad_frames += 1
            log.debug("bad %#04x payload from the device: %s", frame.type, exc)
            known = frame.type in _KNOWN_TYPES
            reason = Reason.BAD_LENGTH if known else Reason.UNKNOWN_TYPE
            self._reply_error(frame.seq, frame.type, reason, str(exc))
            return
        self._outbox += out
        for msg in msgs:
            self._on_message(msg, frame.seq, now_s)

    def _on_message(self, msg: Message, seq: int, now_s: float) -> None:
        if isinstance(msg, Pong):
            rtt_s = self.traffic.pong(msg.token, now_s)
            if rtt_s is not None:
                self.arq.observe_rtt(rtt_s)
        elif isinstance(msg, Nak):
            self.traffic.naks += 1  # the Arq has acted on it (go-back)
        elif isinstance(msg, Error):
            self.traffic.device_error(msg, now_s)
            if msg.ref_type in _SCREEN_TYPES:
                self.screen.invalidate()
        elif isinstance(msg, Log) or (isinstance(msg, Event) and msg.kind in _EVENT_KINDS):
            self.traffic.event(msg, now_s)
        elif msg.TYPE in SEQUENCED and not isinstance(msg, Event):
            # A command the host does not accept (its number is consumed, so just report it).
            self._reply_error(seq, msg.TYPE, Reason.UNKNOWN_TYPE, f"{msg.TYPE.name} not accepted")

    def _on_hello_ack(self, frame: Frame, now_s: float) -> None:
        ack = self._decode(frame)
        if not isinstance(ack, HelloAck) or self.state in (LinkState.CONNECTED, LinkState.CLOSED):
            return
        if not self.handshake.matches(ack):
            log.debug("ignoring HELLO_ACK for session %#x (stale)", ack.session_id)
            return
        self.fatal = version_error(ack)
        if self.fatal is None:
            try:
                self.screen.new_session(ack)
            except (ValueError, TypeError) as exc:
                self.fatal = unusable_display_error(ack, exc)
        if self.fatal is not None:
            log.error("%s", self.fatal)
            self._set_state(LinkState.CLOSED)
            return
        self.arq.reset(peer_window=ack.window)
        self._size_frames_for(ack)
        self._queued_no = 0
        self.traffic.last_ping_s = now_s
        self.traffic.sessions += 1
        if self.device is not None:
            self._commands.restore_state()
        self.device = ack
        log.info(
            "display connected: %s fw %d.%d.%d, %dx%d at %d bpp, window %d, session %#010x",
            ack.board_id,
            *ack.fw_version,
            ack.width_px,
            ack.height_px,
            ack.bpp,
            ack.window,
            ack.session_id,
        )
        self._set_state(LinkState.CONNECTED)

    def _size_frames_for(self, ack: HelloAck) -> None:
        # A reconnect keeps what was learnt of the wire; a new device only caps it.
        known = self._frame_size.current if self._frame_size is not None else ack.max_payload
        self._frame_size = FrameSizeGovernor(ack.max_payload, min(known, ack.max_payload))
        self._frame_size.count_from(self.arq.stats.delivered, self.arq.stats.recoveries)
        if self._frame_size.current < ack.max_payload:
            self.screen.limit_payload(self._frame_size.current)

    def _reply_error(self, seq: int, type_: int, reason: Reason, detail: str) -> None:
        detail = detail.encode("utf-8")[:60].decode("utf-8", "ignore")  # fits any peer
        self._outbox.append(self.arq.encode_unsequenced(Error(seq, type_, reason, detail)))

    def _decode(self, frame: Frame) -> Message | None:
        try:
            return decode_payload(frame.type, frame.payload)
        except PayloadError as exc:
            self.traffic.bad_frames += 1
            log.debug("bad %#04x payload from the device: %s", frame.type, exc)
            return None

    def _restart(self, now_s: float, *, flush: bool) -> None:
        """Drop the session (if any) and start handshaking."""
        self._end_session()
        self.handshake.start(now_s, flush=flush)
        self._set_state(LinkState.LOST if self.device else LinkState.CONNECTING)

    def _end_session(self) -> None:
        self.screen.end_session()
        self.arq.reset()
        self._queued_no = 0

    def _set_state(self, state: LinkState) -> None:
        if state is not self.state:
            self.state = state
            self.transitions.append(state)

    def stats(self) -> LinkStats:
        return self.traffic.snapshot(self.arq.stats, self.screen)


__all__ = ["LinkSession"]
