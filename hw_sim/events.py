"""What the device transmits: EVENT and LOG on its own initiative, NAK / ERROR / replies in
answer to the host, and the counters that go with them.

Inputs (buttons, touch strip, battery gauge, wear sensor) become EVENT messages that the
device's ARQ sends reliably; without a session they are dropped, as the real firmware does
(a press nobody can see is not worth replaying minutes later).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import asdict, dataclass
from typing import Final

from firmware_bridge.protocol.arq import Arq, QueueFullError
from firmware_bridge.protocol.frame import MIN_PAYLOAD, Frame
from firmware_bridge.protocol.messages import (
    SEQUENCED,
    ButtonAction,
    Error,
    Event,
    EventKind,
    Log,
    LogLevel,
    Message,
    MsgType,
    Nak,
    Reason,
    SwipeDirection,
)
from hw_sim.fifo import TxFifo

log = logging.getLogger(__name__)

_ERROR_HEADER_LEN: Final = 3  # ref_seq, ref_type, reason before the detail text
# Message types a host may send; anything else is a protocol error (or ignored if unsequenced).
_FROM_HOST: Final = frozenset(
    {
        MsgType.ACK,
        MsgType.NAK,
        MsgType.ERROR,
        MsgType.PING,
        MsgType.RESET,
        MsgType.BLIT,
        MsgType.PRESENT,
        MsgType.CLEAR,
        MsgType.SET_BRIGHTNESS,
        MsgType.SLEEP,
        MsgType.WAKE,
        MsgType.COPY,
    }
)
_KNOWN_TYPES: Final = frozenset(int(t) for t in MsgType)


class ResetCause(enum.IntEnum):
    """``code`` of the BOOT event sent after the first HELLO_ACK since boot."""

    POWER_ON = 0
    WATCHDOG = 1
    RESET_MESSAGE = 2


@dataclass
class DeviceStats:
    """Device-side counters (the frame decoder keeps frames / CRC errors / malformed)."""

    rx_overruns: int = 0  # frames lost because all receive slots were busy (slow device)
    errors_sent: int = 0
    naks_sent: int = 0
    blits: int = 0
    presents: int = 0
    last_frame_id: int | None = None
    sessions: int = 0
    boots: int = 0  # power-on included
    events_queued: int = 0
    events_dropped: int = 0  # no session, powered off, or the send queue was full
    tx_dropped_bytes: int = 0

    def as_dict(self) -> dict[str, int | None]:
        return asdict(self)


class DeviceOutput:
    """Mixin of :class:`hw_sim.device.DisplayDevice`: everything it sends to the host."""

    powered: bool
    session: bool
    arq: Arq
    stats: DeviceStats
    boot_s: float
    reset_cause: ResetCause
    host_max_payload: int
    _tx: TxFifo
    _boot_reported: bool  # a BOOT event was created since boot
    _boot_event: Event | None  # that event while it is not known to be acknowledged
    _queued_in_session: int  # sequenced messages queued since the numbering restarted

    def uptime_ms(self, now_s: float) -> int:
        return round((now_s - self.boot_s) * 1000) & 0xFFFFFFFF

    def send_event(self, kind: int, code: int, value: int, now_s: float) -> bool:
        """Queue an EVENT; False if it was dropped (no session, device off, queue full)."""
        if not (0 <= kind <= 0xFF and 0 <= code <= 0xFF and -0x8000 <= value <= 0x7FFF):
            raise ValueError(f"event out of range: kind={kind} code={code} value={value}")
        return self._queue(Event(kind, code, value, self.uptime_ms(now_s)))

    def press_button(self, action: ButtonAction, now_s: float, button: int = 0) -> bool:
        return self.send_event(EventKind.BUTTON, button, action, now_s)

    def swipe(self, direction: SwipeDirection, now_s: float) -> bool:
        return self.send_event(EventKind.SWIPE, direction, 0, now_s)

    def battery(self, percent: int, charging: bool, now_s: float) -> bool:
        return self.send_event(EventKind.BATTERY, max(0, min(percent, 100)), int(charging), now_s)

    def temperature(self, celsius: float, now_s: float) -> bool:
        centi = max(-0x8000, min(round(celsius * 100), 0x7FFF))
        return self.send_event(EventKind.TEMPERATURE, 0, centi, now_s)

    def set_worn(self, worn: bool, now_s: float) -> bool:
        return self.send_event(EventKind.WORN, int(worn), 0, now_s)

    def send_log(self, level: LogLevel, text: str, now_s: float) -> bool:
        """Queue a LOG line, cut (on a character boundary) to what the host accepts."""
        room = self.host_max_payload - 1
        cut = text.encode("utf-8")[:room].decode("utf-8", "ignore")
        return self._queue(Log(level, cut))

    def _restart_numbering(self) -> None:
        """A session starts or ends: both sequence spaces restart and the send queue is lost."""
        # Go-back-N acknowledges in order and BOOT goes first, so any acknowledgement covers it.
        if (
            self._boot_event is not None
            and self._queued_in_session > self.arq.unacked + self.arq.pending
        ):
            self._boot_event = None
        self.arq.reset()
        self._queued_in_session = 0

    def _report_boot(self, now_s: float) -> None:
        """Queue EVENT(BOOT) first in the first session since boot, and again in the next
        session if a HELLO cut the previous one before it was acknowledged."""
        if not self._boot_reported:
            self._boot_reported = True
            self._boot_event = Event(EventKind.BOOT, self.reset_cause, 0, self.uptime_ms(now_s))
        if self._boot_event is not None:
            self._queue(self._boot_event)

    def _queue(self, msg: Message) -> bool:
        # LOG lines may fill only half the queue, so that events still find room.
        log_full = isinstance(msg, Log) and self.arq.pending >= self.arq.config.max_pending // 2
        if not (self.powered and self.session) or log_full:
            self.stats.events_dropped += 1
            return False
        try:
            self.arq.queue(msg)
        except QueueFullError:
            self.stats.events_dropped += 1
            return False
        self.stats.events_queued += 1
        self._queued_in_session += 1
        return True

    def _error(self, frame: Frame, reason: Reason, detail: str) -> None:
        # Cut so the ERROR fits any host (at least MIN_PAYLOAD), on a character boundary.
        room = min(self.host_max_payload, MIN_PAYLOAD) - _ERROR_HEADER_LEN
        text = detail.encode("utf-8")[:room].decode("utf-8", "ignore")
        log.debug("ERROR %s for type %#04x seq %d: %s", reason.name, frame.type, frame.seq, detail)
        self.stats.errors_sent += 1
        self._send(Error(frame.seq, frame.type, reason, text))

    def _on_bad_payload(self, frame: Frame, detail: str) -> None:
        """Answer a frame whose payload does not decode (its number is already consumed)."""
        if frame.type in (MsgType.ERROR, MsgType.NAK):
            log.warning("malformed %s from the host: %s", MsgType(frame.type).name, detail)
        elif frame.type in _FROM_HOST:
            self._error(frame, Reason.BAD_LENGTH, detail)
        elif frame.type in SEQUENCED or frame.type not in _KNOWN_TYPES:
            self._error(frame, Reason.UNKNOWN_TYPE, f"type {frame.type:#04x} not accepted")
        # Never answer ERROR / NAK or a device-to-host unsequenced type: that could loop.

    def _send(self, msg: Message) -> None:
        """Send an unsequenced message now (it carries the current acknowledgement)."""
        if isinstance(msg, Nak):
            self.stats.naks_sent += 1
        self._emit(self.arq.encode_unsequenced(msg))

    def _emit_naks(self, chunks: list[bytes]) -> None:
        self.stats.naks_sent += len(chunks)
        for chunk in chunks:
            self._emit(chunk)

    def _emit(self, chunk: bytes) -> None:
        if not self._tx.put(chunk):
            self.stats.tx_dropped_bytes += len(chunk)  # TX FIFO full: the frame is lost
