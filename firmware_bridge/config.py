"""Settings of a display link and the reconnect backoff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from firmware_bridge.backoff import Backoff
from firmware_bridge.protocol.arq import MAX_WINDOW, ArqConfig
from firmware_bridge.protocol.frame import MAX_PAYLOAD_LIMIT, MIN_PAYLOAD

DEFAULT_BAUD: Final = 921600
BITS_PER_BYTE: Final = 10  # 8N1: start bit, 8 data bits, stop bit


@dataclass(frozen=True)
class LinkConfig:
    """How to reach the display and how patient to be with it. Times are in seconds."""

    url: str
    """Port to open: ``/dev/ttyACM0`` (USB-CDC), ``/dev/serial0`` (UART), a pty path from the
    simulator, ``socket://host:port`` or ``loop://``."""
    baud: int = DEFAULT_BAUD
    """UART bit rate; USB-CDC and ptys ignore it. The retransmit timeout also counts the wire
    time of frames at this rate (on a faster line that only makes it a little longer)."""
    window: int = 8
    """Sequenced frames this host keeps in flight at most; the device's HELLO_ACK window caps it."""
    keepalive_s: float = 1.0
    """Send a PING after this long without hearing from the device, so loss is noticed."""
    link_timeout_s: float = 3.0
    """No frame at all from the device for this long means the link is lost: handshake again."""
    hello_timeout_s: float = 0.5
    """Wait this long for HELLO_ACK before a new HELLO; the wait doubles per attempt."""
    hello_retry_max_s: float = 2.0
    """Upper bound of the doubling HELLO wait, so a device that boots late is found quickly."""
    reconnect_backoff_min_s: float = 0.1
    """First wait before reopening a port that went away (or never opened)."""
    reconnect_backoff_max_s: float = 2.0
    """The reopen wait doubles up to this."""
    max_payload: int = 1024
    """Largest frame payload this host accepts (sent in HELLO); longer frames are discarded."""
    max_events: int = 256
    """Device events kept for :meth:`get_event`; when full the oldest is dropped and counted."""
    max_commands: int = 32
    """Commands (brightness, sleep, ...) waiting for the link; more raise QueueFullError."""
    write_timeout_s: float = 2.0
    """A write blocked this long (device not reading) counts as a lost port."""
    io_tick_s: float = 0.05
    """Longest blocking read on ports that cannot be woken (socket://): the reaction time
    to new requests there. Other ports block until the next deadline or request."""
    wait_for_port: bool = False
    """False: :meth:`DisplayLink.start` raises if the port does not open (a typo fails fast).
    True: keep trying in the background (a daemon started before the glasses are plugged in)."""

    def __post_init__(self) -> None:
        if self.baud <= 0:
            raise ValueError(f"baud must be positive, got {self.baud}")
        if not 1 <= self.window <= MAX_WINDOW:
            raise ValueError(f"window must be 1..{MAX_WINDOW}, got {self.window}")
        if not MIN_PAYLOAD <= self.max_payload <= MAX_PAYLOAD_LIMIT:
            raise ValueError(f"max_payload must be {MIN_PAYLOAD}..{MAX_PAYLOAD_LIMIT}")
        if not 0 < self.keepalive_s < self.link_timeout_s:
            raise ValueError("keepalive_s must be positive and shorter than link_timeout_s")
        if self.hello_timeout_s <= 0 or self.hello_retry_max_s < self.hello_timeout_s:
            raise ValueError("need 0 < hello_timeout_s <= hello_retry_max_s")
        if not 0 < self.reconnect_backoff_min_s <= self.reconnect_backoff_max_s:
            raise ValueError("need 0 < reconnect_backoff_min_s <= reconnect_backoff_max_s")
        if self.max_events < 1 or self.max_commands < 1:
            raise ValueError("max_events and max_commands must be at least 1")
        if self.io_tick_s <= 0 or self.write_timeout_s <= 0:
            raise ValueError("io_tick_s and write_timeout_s must be positive")

    def arq_config(self) -> ArqConfig:
        return ArqConfig(window=self.window, byte_time_s=BITS_PER_BYTE / self.baud)


__all__ = ["BITS_PER_BYTE", "DEFAULT_BAUD", "Backoff", "LinkConfig"]
