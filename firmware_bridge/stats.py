"""Link state, device events and the statistics snapshot of a display link."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from firmware_bridge.protocol.messages import Error, Event, HelloAck, Log

DeviceInfo = HelloAck
"""What the device said about itself in the HELLO_ACK of the current (or last) session."""


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    """No session yet: opening the port and saying HELLO for the first time."""
    CONNECTED = "connected"
    """A session is up; screens and commands flow."""
    LOST = "lost"
    """Had a session and lost it (port gone, silence, device reboot); reconnecting."""
    CLOSED = "closed"
    """Closed by its owner or stopped by an error retrying cannot fix."""


@dataclass(frozen=True)
class DeviceEvent:
    """Something the device reported: an input EVENT, a LOG line or an ERROR."""

    message: Event | Log | Error
    received_s: float
    """Host monotonic time of arrival."""


@dataclass(frozen=True)
class LinkStats:
    """Counters since the link was created (a snapshot; all monotonic except rtt_ms)."""

    bytes_tx: int = 0
    bytes_rx: int = 0
    frames_tx: int = 0
    frames_rx: int = 0
    retransmits: int = 0
    crc_errors: int = 0
    malformed: int = 0
    """Frames dropped as bad COBS, wrong length, oversized, bad payload or wrong version."""
    naks: int = 0
    """NAKs received from the device (any reason)."""
    errors_from_device: int = 0
    reconnects: int = 0
    """Sessions established after the first one."""
    rtt_ms: float | None = None
    """Smoothed PING/PONG round trip; the ARQ's estimate until the first PONG."""
    presents_acked: int = 0
    screens_skipped: int = 0
    """Targets replaced by a newer one before they were sent."""
    events_dropped: int = 0
    """Device events dropped because the event queue was full."""


__all__ = ["DeviceEvent", "DeviceInfo", "LinkState", "LinkStats"]
