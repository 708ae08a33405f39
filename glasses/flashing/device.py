"""The glasses on one serial port, in whichever protocol they speak at the moment.

After boot the display firmware speaks the link protocol; after an acknowledged
ENTER_BOOTLOADER it speaks only SMP until an SMP reset (docs/protocol.md section 11). A flash
that was interrupted may leave the glasses in SMP, so :meth:`Device.probe` tries both. The
display-protocol exchanges block, so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from firmware_bridge.config import DEFAULT_BAUD
from firmware_bridge.errors import LinkError
from firmware_bridge.protocol.messages import HelloAck
from glasses.flashing.display_probe import DisplayProbe, HandoverRefused
from glasses.flashing.preflight import FlashFailed
from glasses.flashing.smp_session import SmpSession

SMP_PROBE_TIMEOUT_S: Final = 1.0


@dataclass(frozen=True)
class FlashSettings:
    """How to reach the glasses and how long to wait for them. Times in seconds."""

    port: str
    """Serial device or simulator pty (smpclient opens a path, not a socket:// URL)."""
    baud: int = DEFAULT_BAUD
    allow_downgrade: bool = False
    hello_timeout_s: float = 3.0
    """The running firmware must answer HELLO within this."""
    boot_timeout_s: float = 20.0
    """After a reset the (new) firmware must answer HELLO within this: includes the swap."""
    ping_timeout_s: float = 2.0
    """Health check: the PING round trip after HELLO."""
    revert_wait_s: float = 20.0
    """After a failed health check, how long to watch for the previous firmware to return."""
    smp_timeout_s: float = 5.0
    """One SMP request (the first upload chunk gets four times this: it may erase)."""
    idle_timeout_s: int = 120
    """ENTER_BOOTLOADER: the device goes back to its app after this long without SMP."""
    attempts: int = 3
    """Tries of the upload when it is interrupted; each resumes where the device stopped."""


@dataclass(frozen=True)
class Greeting:
    """How the display firmware answered: HELLO_ACK (None: nothing in time), whether a PING
    came back, and the reset cause of its EVENT(BOOT) (1: watchdog, 2: reset request)."""

    ack: HelloAck | None
    pong: bool
    boot_cause: int | None


@dataclass(frozen=True)
class DeviceInfo:
    mode: str  # "app" (display protocol) or "smp"
    board: str
    version: tuple[int, int, int]
    healthy: bool  # answered HELLO and PING just now


class Device:
    def __init__(self, settings: FlashSettings) -> None:
        self.settings = settings

    def smp(self, timeout_s: float | None = None) -> SmpSession:
        s = self.settings
        return SmpSession(s.port, s.baud, timeout_s or s.smp_timeout_s)

    def _open(self) -> DisplayProbe:
        try:
            return DisplayProbe(self.settings.port, self.settings.baud)
        except LinkError as exc:
            raise FlashFailed(str(exc)) from None

    def _hello_ping_blocking(self, timeout_s: float) -> Greeting:
        with self._open() as probe:
            ack = probe.hello(timeout_s)
            pong = ack is not None and probe.ping(self.settings.ping_timeout_s)
            return Greeting(ack, pong, probe.boot_cause)

    async def hello_ping(self, timeout_s: float) -> Greeting:
        """HELLO (waiting up to ``timeout_s`` for an answer), then a PING round trip."""
        return await asyncio.to_thread(self._hello_ping_blocking, timeout_s)

    async def probe(self, timeout_s: float) -> DeviceInfo:
        greeting = await self.hello_ping(timeout_s)
        if greeting.ack is not None:
            ack = greeting.ack
            return DeviceInfo("app", ack.board_id, ack.fw_version, greeting.pong)
        async with self.smp(SMP_PROBE_TIMEOUT_S) as smp:
            if await smp.echo(SMP_PROBE_TIMEOUT_S):
                primary = next((s for s in await smp.slots() if s.slot == 0), None)
                version = primary.version_triple if primary else (0, 0, 0)
                return DeviceInfo("smp", await smp.board(), version, healthy=False)
        raise FlashFailed(
            f"no answer from the glasses at {self.settings.port} within {timeout_s:g} s, neither "
            "in the display protocol nor in SMP: check the port, the cable and that they are on"
        )

    def _enter_blocking(self) -> None:
        s = self.settings
        with self._open() as probe:
            if probe.hello(s.hello_timeout_s) is None:
                raise FlashFailed(f"the glasses at {s.port} stopped answering HELLO")
            try:
                accepted = probe.enter_bootloader(s.idle_timeout_s, s.hello_timeout_s)
            except HandoverRefused as exc:
                raise FlashFailed(
                    f"the firmware on the glasses cannot hand the port over to its bootloader "
                    f"(ENTER_BOOTLOADER refused, {exc}): it predates updates over the serial "
                    "link; flash it once with a debug probe"
                ) from None
        if not accepted:
            raise FlashFailed("the glasses did not acknowledge ENTER_BOOTLOADER in time")

    async def to_smp(self, info: DeviceInfo) -> None:
        """Make the device speak SMP (no-op if it already does)."""
        if info.mode == "app":
            await asyncio.to_thread(self._enter_blocking)

    def _reset_blocking(self) -> bool:
        with self._open() as probe:
            return probe.hello(self.settings.hello_timeout_s) is not None and probe.reset(2.0)

    async def display_reset(self) -> bool:
        """Reboot through the display protocol (RESET); True if it was acknowledged."""
        return await asyncio.to_thread(self._reset_blocking)


__all__ = ["Device", "DeviceInfo", "FlashSettings", "Greeting"]
