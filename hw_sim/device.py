"""The display MCU's firmware as a pure state machine: bytes and the time go in, bytes come out.

Nothing here reads a clock or touches a port, so tests drive a device exactly and the
simulator process runs the same object against a pty or a socket (docs/protocol.md describes
the behaviour implemented here).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Final

from firmware_bridge.protocol import PROTOCOL_VERSION
from firmware_bridge.protocol.arq import Arq, ArqConfig
from firmware_bridge.protocol.frame import MIN_PAYLOAD, Frame, FrameDecoder, FrameError
from firmware_bridge.protocol.messages import (
    SEQUENCED,
    Ack,
    Blit,
    Clear,
    Copy,
    Error,
    Hello,
    HelloAck,
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
    Wake,
    decode_payload,
)
from firmware_bridge.protocol.pixels import Levels
from hw_sim.events import DeviceOutput, DeviceStats, ResetCause
from hw_sim.fifo import RxSlots, TxFifo
from hw_sim.framebuffer import DrawError, Framebuffer
from hw_sim.profiles import Profile

log = logging.getLogger(__name__)

DEFAULT_BRIGHTNESS: Final = 255


class DisplayDevice(DeviceOutput):
    """One display board. Feed :meth:`receive_bytes` with what arrived on the wire and call
    :meth:`poll` regularly for what to transmit; ``now_s`` is any monotonic time in seconds.
    """

    session: bool  # a HELLO with a common version was answered since boot
    version: int  # negotiated protocol version (0 without a session)
    session_id: int | None
    sleeping: bool  # panel off (SLEEP), content kept
    brightness: int  # last SET_BRIGHTNESS, 0..255
    woke_s: float | None  # when the last WAKE was carried out (for wake-up timing)
    presented_s: float | None  # when the last PRESENT was carried out
    _reboot_at_s: float | None

    def __init__(
        self,
        profile: Profile,
        now_s: float = 0.0,
        *,
        processing_s: float = 0.0,
        reboot_delay_s: float = 0.1,
        tx_limit_bytes: int = 64 * 1024,
        event_queue_len: int = 32,
        byte_time_s: float = 0.0,
    ) -> None:
        self.profile = profile
        self.processing_s = processing_s  # extra MCU time per frame: a device slower than its link
        self.reboot_delay_s = reboot_delay_s
        self.stats = DeviceStats()
        self.fb = Framebuffer(profile.width_px, profile.height_px, profile.bpp)
        # byte_time_s: 10 / baud of the emulated UART, so the retransmit timeout of EVENT / LOG
        # frames counts their wire time (0 where bytes move instantly, as in pure tests).
        self.arq = Arq(
            ArqConfig(window=profile.window, max_pending=event_queue_len, byte_time_s=byte_time_s)
        )
        self.decoder = FrameDecoder(max_payload=profile.max_payload)
        self._rx = RxSlots(profile.window + 4)  # one slot per window frame, a few for the rest
        self._tx = TxFifo(tx_limit_bytes)
        self.powered = True
        self.screen_version = 0  # bumped whenever the front buffer (what is shown) changes
        self.woke_s = self.presented_s = None
        self._boot(now_s, ResetCause.POWER_ON)  # sets the session and panel state below

    # -- wire side -----------------------------------------------------------------------

    def receive_bytes(self, data: bytes, now_s: float) -> None:
        """Bytes that arrived from the host at ``now_s``."""
        if not self.powered:
            return
        for item in self.decoder.feed(data):
            cost_s = self.processing_s if isinstance(item, Frame) else 0.0
            if not self._rx.push(item, now_s, cost_s):
                self.stats.rx_overruns += 1  # every receive slot busy: the frame is lost
        self._run(now_s)

    def poll(self, now_s: float) -> bytes:
        """Handle what is due at ``now_s`` and return the bytes to transmit."""
        if not self.powered:
            return b""
        self._run(now_s)
        if self.session:
            for chunk in self.arq.poll(now_s):
                self._emit(chunk)
        return self._tx.take()

    @property
    def front(self) -> Levels:
        """What the panel shows: (height, width) uint8 levels."""
        return self.fb.front

    @property
    def back(self) -> Levels:
        """Where BLIT, COPY and CLEAR draw."""
        return self.fb.back

    def counters(self) -> dict[str, int | None]:
        """Frame decoder and device counters in one flat dict (frames, crc_errors, ...)."""
        return {**dataclasses.asdict(self.decoder.stats), **self.stats.as_dict()}

    # -- power ---------------------------------------------------------------------------

    def power_off(self) -> None:
        """Unplugged: RAM is lost and the panel goes dark; nothing is received or sent."""
        self.powered = self.session = False
        self._rx.clear(0.0)
        self._tx.clear()
        self.fb.reset()
        self.screen_version += 1

    def power_on(self, now_s: float) -> None:
        self.powered = True
        self._boot(now_s, ResetCause.POWER_ON)

    def reboot(self, now_s: float, cause: ResetCause = ResetCause.WATCHDOG) -> None:
        """An immediate reboot, e.g. a watchdog reset injected as a fault."""
        if self.powered:
            self._boot(now_s, cause)

    def _boot(self, now_s: float, cause: ResetCause) -> None:
        log.info("boot (%s)", cause.name)
        self.stats.boots += 1
        self.fb.reset()
        self.screen_version += 1
        self.session, self.version, self.session_id = False, 0, None
        self.host_max_payload = MIN_PAYLOAD
        self.sleeping, self.brightness = False, DEFAULT_BRIGHTNESS
        self.reset_cause, self.boot_s = cause, now_s
        self._boot_reported, self._boot_event = False, None
        self._reboot_at_s = None
        self._rx.clear(now_s)
        self._tx.clear()
        self.arq.reset()
        self._queued_in_session = 0
        # A fresh decoder drops half-received bytes; the counters carry over.
        self.decoder = FrameDecoder(max_payload=self.profile.max_payload, stats=self.decoder.stats)
        self._emit(b"\x00")  # ends any partial frame the host holds from before the reboot
        self._send(Nak(0, Reason.NO_SESSION))  # the announcement: "I have just booted"

    # -- frame handling ------------------------------------------------------------------

    def _run(self, now_s: float) -> None:
        while True:
            reboot_s, head_s = self._reboot_at_s, self._rx.head_ready_s
            if (
                reboot_s is not None
                and reboot_s <= now_s
                and (head_s is None or head_s >= reboot_s)
            ):
                self._boot(reboot_s, ResetCause.RESET_MESSAGE)
            elif head_s is not None and head_s <= now_s:
                self._handle(self._rx.pop(), now_s)
            else:
                return

    def _handle(self, item: Frame | FrameError, now_s: float) -> None:
        if isinstance(item, FrameError):
            if self.session:  # data was lost: ask for a go-back now rather than after a timeout
                self._emit_naks(self.arq.corrupt_frame_seen(now_s))
            return
        frame = item
        if frame.type == MsgType.HELLO:
            self._on_hello(frame, now_s)
        elif not self.session:
            self._send(Nak(frame.seq, Reason.NO_SESSION))
        elif frame.version != self.version:
            p = self.profile
            detail = f"device supports {p.min_version}..{p.max_version}"
            self._error(frame, Reason.UNSUPPORTED_VERSION, detail)
        else:
            try:
                messages, naks = self.arq.receive(frame, now_s)
            except PayloadError as exc:
                self._on_bad_payload(frame, str(exc))
                return
            self._emit_naks(naks)
            for msg in messages:
                self._dispatch(msg, frame, now_s)

    def _on_hello(self, frame: Frame, now_s: float) -> None:
        p = self.profile
        if frame.version != PROTOCOL_VERSION:
            detail = f"HELLO header must be v1; device supports {p.min_version}..{p.max_version}"
            self._error(frame, Reason.UNSUPPORTED_VERSION, detail)
            return
        try:
            hello = decode_payload(frame.type, frame.payload)
        except PayloadError as exc:
            self._error(frame, Reason.BAD_LENGTH, str(exc))
            return
        assert isinstance(hello, Hello)
        low, high = max(hello.min_version, p.min_version), min(hello.max_version, p.max_version)
        self.version = high if low <= high else 0
        self.session = self.version != 0
        self.session_id = hello.session_id if self.session else None
        self.host_max_payload = max(MIN_PAYLOAD, hello.max_payload)
        self._restart_numbering()  # also when no version is in common: that ends a session
        self._send(
            HelloAck(
                self.version,
                p.min_version,
                p.max_version,
                p.width_px,
                p.height_px,
                p.bpp,
                p.max_payload,
                p.window,
                p.fw_version,
                hello.session_id,
                p.board_id,
            )
        )
        if not self.session:
            log.warning(
                "HELLO for versions %d..%d: none in common", hello.min_version, hello.max_version
            )
            return
        self.stats.sessions += 1
        log.info("session %08x started (protocol v%d)", hello.session_id, self.version)
        self._report_boot(now_s)

    def _dispatch(self, msg: Message, frame: Frame, now_s: float) -> None:
        try:
            match msg:
                case Ping(token=token):
                    self._send(Pong(token))
                case Blit():
                    self.fb.blit(msg)
                    self.stats.blits += 1
                case Present(frame_id=frame_id):
                    self.fb.present()
                    self.stats.presents += 1
                    self.stats.last_frame_id = frame_id
                    self.screen_version += 1
                    self.presented_s = now_s
                case Copy():
                    self.fb.copy(msg)
                case Clear(level=level):
                    self.fb.clear(level)
                case SetBrightness(level=level):
                    self.brightness = level
                case Sleep() | Wake():
                    self.sleeping = isinstance(msg, Sleep)
                    self.woke_s = now_s if isinstance(msg, Wake) else self.woke_s
                case Reset():
                    self._reboot_at_s = now_s + self.reboot_delay_s  # the ACK goes out first
                case Ack() | Nak():
                    pass  # the ARQ has already acted on them
                case Error(reason=reason, detail=detail):
                    log.warning("host reports error %d: %s", reason, detail)
                case _ if frame.type in SEQUENCED:
                    self._error(frame, Reason.UNKNOWN_TYPE, f"{msg.TYPE.name} not accepted")
        except DrawError as exc:
            self._error(frame, exc.reason, exc.detail)
