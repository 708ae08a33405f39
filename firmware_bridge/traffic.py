"""Counters, round-trip time and the bounded queue of device events of one link."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from firmware_bridge.protocol.arq import ArqStats
from firmware_bridge.protocol.messages import Error, Event, Log, LogLevel, MsgType, Ping, Reason
from firmware_bridge.screen import ScreenPipeline
from firmware_bridge.stats import DeviceEvent, LinkStats

log = logging.getLogger(__name__)
device_log = logging.getLogger("firmware_bridge.device")

_RTT_GAIN: Final = 0.125  # the usual smoothing of round-trip estimates
PINGS_PER_KEEPALIVE: Final = 4
_LOG_LEVELS: Final[dict[int, int]] = {
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.INFO: logging.INFO,
    LogLevel.WARNING: logging.WARNING,
    LogLevel.ERROR: logging.ERROR,
}


def _reason_name(code: int) -> str:
    try:
        return Reason(code).name
    except ValueError:
        return str(code)


def _type_name(code: int) -> str:
    try:
        return MsgType(code).name
    except ValueError:
        return f"{code:#04x}"


@dataclass
class Traffic:
    max_events: int
    bytes_tx: int = 0
    bytes_rx: int = 0
    frames_tx: int = 0
    frames_rx: int = 0
    crc_errors: int = 0
    bad_frames: int = 0
    naks: int = 0
    errors_from_device: int = 0
    sessions: int = 0
    events_dropped: int = 0
    rtt_s: float | None = None
    last_rx_s: float = 0.0  # newest good frame from the device
    last_ping_s: float = 0.0  # newest keepalive PING (or session start)
    events: deque[DeviceEvent] = field(default_factory=deque)
    fresh: deque[DeviceEvent] = field(default_factory=deque)  # for callbacks; owner drains it
    _ping_token: int = 0
    _ping_sent_s: float | None = None

    def sent(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.bytes_tx += len(chunk)
            # Each chunk holds one frame, plus a leading flush delimiter before a HELLO.
            self.frames_tx += 1

    def deadline_s(self, keepalive_s: float, link_timeout_s: float) -> float:
        """When the next keepalive PING or the silence timeout is due."""
        return min(self.last_rx_s + link_timeout_s, self._next_ping_s(keepalive_s))

    def _next_ping_s(self, keepalive_s: float) -> float:
        # The first PING after keepalive_s of silence; while the silence lasts, one every
        # quarter of it, so a few lost PINGs on a noisy wire do not pass for a lost link.
        first_s = self.last_rx_s + keepalive_s
        if self.last_ping_s < first_s:
            return first_s
        return self.last_ping_s + keepalive_s / PINGS_PER_KEEPALIVE

    def keepalive(self, now_s: float, keepalive_s: float) -> Ping | None:
        """A PING once nothing was heard for ``keepalive_s``, then repeated while silent."""
        if now_s < self._next_ping_s(keepalive_s):
            return None
        self.last_ping_s = self._ping_sent_s = now_s
        self._ping_token = (self._ping_token + 1) & 0xFFFFFFFF
        return Ping(self._ping_token)

    def pong(self, token: int, now_s: float) -> float | None:
        """Record a PONG; returns its round-trip time, None for an answer to an older PING."""
        if token != self._ping_token or self._ping_sent_s is None:
            return None  # its send time is gone
        sample = now_s - self._ping_sent_s
        self._ping_sent_s = None
        if self.rtt_s is None:
            self.rtt_s = sample
        else:
            self.rtt_s += _RTT_GAIN * (sample - self.rtt_s)
        return sample

    def device_error(self, err: Error, now_s: float) -> None:
        self.errors_from_device += 1
        log.warning(
            "display reported %s for %s seq %d: %s",
            _reason_name(err.reason),
            _type_name(err.ref_type),
            err.ref_seq,
            err.detail or "-",
        )
        self.event(err, now_s)

    def event(self, msg: Event | Log | Error, now_s: float) -> None:
        if isinstance(msg, Log):
            device_log.log(_LOG_LEVELS.get(msg.level, logging.INFO), "%s", msg.text)
        if len(self.events) >= self.max_events:
            self.events.popleft()  # the newest events matter most to a UI
            self.events_dropped += 1
        item = DeviceEvent(msg, now_s)
        self.events.append(item)
        if len(self.fresh) >= self.max_events:
            self.fresh.popleft()
        self.fresh.append(item)

    def snapshot(self, arq: ArqStats, screen: ScreenPipeline) -> LinkStats:
        rtt_s = self.rtt_s if self.rtt_s is not None else arq.rtt_s
        return LinkStats(
            bytes_tx=self.bytes_tx,
            bytes_rx=self.bytes_rx,
            frames_tx=self.frames_tx,
            frames_rx=self.frames_rx,
            retransmits=arq.retransmits,
            crc_errors=self.crc_errors,
            malformed=self.bad_frames,
            naks=self.naks,
            errors_from_device=self.errors_from_device,
            reconnects=max(0, self.sessions - 1),
            rtt_ms=None if rtt_s is None else rtt_s * 1000.0,
            presents_acked=screen.presents_acked,
            screens_skipped=screen.skipped,
            events_dropped=self.events_dropped,
        )


__all__ = ["Traffic"]
