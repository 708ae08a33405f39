"""The update itself: check, upload, test, reset, health check, then confirm or leave it.

1. Offline checks (preflight), then the device's board and running version (HELLO_ACK).
2. ENTER_BOOTLOADER, then over SMP: upload into the secondary slot (an interrupted upload
   resumes from the offset the device reports), mark it for test, reset.
3. The bootloader swaps; the new firmware must answer HELLO within ``boot_timeout_s``,
   report the new version and answer a PING.
4. Healthy: ENTER_BOOTLOADER again, confirm, reset. Not healthy: never confirmed, so the
   bootloader restores the previous image at the next reset; the host triggers that reset
   when the firmware still listens, and watches for the old version to come back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NoReturn

from firmware_bridge.errors import PortLostError
from glasses.flashing.device import Device, DeviceInfo, FlashSettings
from glasses.flashing.preflight import CheckedImage, FlashFailed, check_target
from glasses.flashing.smp_session import SlotState

Report = Callable[[str], None]
Progress = Callable[[int, int], None]
_INSTALLED, _RUNNING, _AGAIN = "installed", "running", "again"
_VERSION: Final = "{}.{}.{}"
_WATCHDOG_RESET: Final = 1  # EVENT(BOOT) code: the watchdog reset the MCU (protocol.md 6.2)


def _interruptions() -> tuple[type[BaseException], ...]:
    from smpclient.exceptions import SMPBadSequence
    from smpclient.transport import SMPTransportDisconnected

    # PortLostError: the display-protocol exchanges (HELLO, PING, ENTER_BOOTLOADER) lost the
    # port, e.g. the cable was pulled or the pty went away.
    return (TimeoutError, OSError, PortLostError, SMPTransportDisconnected, SMPBadSequence)


def _brief(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):  # smpclient's message holds the whole request
        return f"no SMP answer within {timeout_s:g} s"
    if isinstance(exc, PortLostError):
        return f"the port went away: {str(exc)[:100]}"
    return f"{type(exc).__name__}: {str(exc)[:100]}"


@dataclass(frozen=True)
class FlashResult:
    version: str  # what the glasses run now
    resumed_at: int | None  # offset an interrupted upload resumed from, if it did
    already_running: bool


class Flasher:
    def __init__(
        self, settings: FlashSettings, image: CheckedImage, report: Report, progress: Progress
    ) -> None:
        self.settings = settings
        self.image = image
        self.report = report
        self.progress = progress
        self.device = Device(settings)
        self.resumed_at: int | None = None
        self.previous: tuple[int, int, int] | None = None  # the version before the update
        self.confirm_sent = False  # the SMP confirm request went out (it may have taken effect)

    async def run(self) -> FlashResult:
        s, device = self.settings, self.device
        try:
            info = await device.probe(s.hello_timeout_s)
        except PortLostError as exc:
            raise FlashFailed(
                f"lost the glasses before anything was sent ({_brief(exc, s.smp_timeout_s)}); "
                "nothing changed on them: check the cable and run the same command again"
            ) from None
        check_target(self.image, info.board, info.version, s.allow_downgrade)
        self.previous = info.version
        self.report(
            f"{s.port}: {info.board} runs {_VERSION.format(*info.version)}; installing "
            f"{self.image.version} signed by {self.image.key.source}"
        )
        for attempt in range(1, s.attempts + 1):
            try:
                outcome = await self._install(info)
            except _interruptions() as exc:
                why = _brief(exc, s.smp_timeout_s)
                if attempt == s.attempts:
                    raise FlashFailed(f"the upload failed {attempt} times, last: {why}") from None
                self.report(f"interrupted ({why}); resuming, attempt {attempt + 1} of {s.attempts}")
                info = await self._reprobe()
                continue
            if outcome == _AGAIN:
                info = await self._reprobe()
                check_target(self.image, info.board, info.version, s.allow_downgrade)
                self.previous = info.version
                continue
            if outcome == _RUNNING:
                return FlashResult(str(self.image.version), None, already_running=True)
            step = "during the health check"
            try:
                await self._check_health()
                step = "while confirming it"
                await self._confirm()
            except _interruptions() as exc:
                why, version = _brief(exc, s.smp_timeout_s), self.image.version
                if self.confirm_sent:
                    raise FlashFailed(
                        f"lost the glasses after confirming {version} ({why}): run the same "
                        "command again to check that they run it"
                    ) from None
                raise FlashFailed(
                    f"lost the glasses {step} of {version} after the upload ({why}); it runs on "
                    "test and is not confirmed: run the same command again to check and confirm "
                    "it (a reset before then brings back the previous firmware)"
                ) from None
            return FlashResult(str(self.image.version), self.resumed_at, already_running=False)
        raise FlashFailed("the glasses kept running an unconfirmed test image; power-cycle them")

    async def _install(self, info: DeviceInfo) -> str:
        await self.device.to_smp(info)
        async with self.device.smp() as smp:
            primary = self._primary(await smp.slots())
            if primary.hash == self.image.hash and (primary.confirmed or info.healthy):
                if not primary.confirmed:
                    await smp.confirm()  # it booted and answered HELLO and PING just now
                    self.report(f"{self.image.version} was running on test; confirmed it")
                else:
                    self.report(f"{self.image.version} is already installed")
                await smp.reset()
                return _RUNNING
            if not primary.confirmed:  # never confirmed without a health check of our own
                self.report(
                    f"the glasses run an unconfirmed test image ({primary.version}); resetting "
                    "so the bootloader restores the confirmed one first"
                )
                await smp.reset()
                return _AGAIN
            data, first = self.image.data, smp.first_chunk_bytes(self.image.data)
            offsets = smp.upload(data)
            async for offset in offsets:
                if first and offset > first:
                    self.resumed_at = offset
                    self.report(f"the glasses already hold {offset} bytes of it: resuming there")
                first = 0
                self.progress(offset, len(data))
            await smp.mark_test(self.image.hash)
            await smp.reset()
        self.report("uploaded; the glasses reboot into the new image on test")
        return _INSTALLED

    async def _reprobe(self) -> DeviceInfo:
        """The device again, after an interruption or a reset during the upload."""
        try:
            return await self.device.probe(self.settings.boot_timeout_s)
        except PortLostError as exc:
            raise FlashFailed(
                f"lost the glasses during the update ({_brief(exc, self.settings.smp_timeout_s)});"
                " nothing new is confirmed on them: run the same command again, it resumes"
            ) from None

    @staticmethod
    def _primary(slots: list[SlotState]) -> SlotState:
        primary = next((s for s in slots if s.slot == 0), None)
        if primary is None:
            raise FlashFailed("the glasses list no image in slot 0")
        return primary

    async def _check_health(self) -> None:
        s, expected = self.settings, self.image.version.triple
        came = await self.device.hello_ping(s.boot_timeout_s)
        if came.ack is None:
            await self._revert(
                f"the new firmware did not answer HELLO within {s.boot_timeout_s:g} s", False
            )
        running = _VERSION.format(*came.ack.fw_version)
        if came.ack.fw_version != expected and came.boot_cause == _WATCHDOG_RESET:
            raise FlashFailed(
                f"the new firmware {self.image.version} hung at start: its watchdog reset the "
                f"glasses and the bootloader reverted them to {running}, which runs again"
            )
        if came.ack.fw_version == self.previous and came.ack.fw_version != expected:
            raise FlashFailed(
                f"after the reset the glasses run {running} again, not {self.image.version}: "
                "their bootloader did not boot the new image and kept the previous firmware "
                "(`glasses flash --list` shows the slots)"
            )
        if came.ack.fw_version != expected:
            await self._revert(
                f"after the reset the glasses report version {running}, expected "
                f"{self.image.version}",
                True,
                came.ack.fw_version,
            )
        if not came.pong:
            await self._revert(
                f"the new firmware answered HELLO but not PING within {s.ping_timeout_s:g} s", True
            )
        self.report(f"health check passed: {self.image.version} answers HELLO and PING")

    async def _revert(
        self, why: str, listening: bool, reported: tuple[int, int, int] | None = None
    ) -> NoReturn:
        """The new image failed its health check: get the old one back, then fail.
        ``reported``: the version the new image reported, if not its own."""
        self.report(f"{why}; not confirming it, so the bootloader reverts it at the next reset")
        if listening:
            await self.device.display_reset()
        ack = (await self.device.hello_ping(self.settings.revert_wait_s)).ack
        if ack is not None and ack.fw_version not in (self.image.version.triple, reported):
            old = _VERSION.format(*ack.fw_version)
            raise FlashFailed(
                f"{why}; the bootloader reverted the glasses to {old}, which runs again"
            )
        raise FlashFailed(
            f"{why}; it is left unconfirmed: power-cycle the glasses and the bootloader restores "
            "the previous firmware"
        )

    async def _confirm(self) -> None:
        s = self.settings
        await self.device.to_smp(
            DeviceInfo("app", self.image.board, self.image.version.triple, True)
        )
        async with self.device.smp() as smp:
            if self._primary(await smp.slots()).hash != self.image.hash:
                raise FlashFailed("the glasses do not run the uploaded image; not confirming")
            self.confirm_sent = True
            await smp.confirm()
            await smp.reset()
        ack = (await self.device.hello_ping(s.boot_timeout_s)).ack
        if ack is None or ack.fw_version != self.image.version.triple:
            raise FlashFailed(
                "after confirming, the glasses did not come back with the new version"
            )
        self.report(f"confirmed: the glasses run {self.image.version}")


async def list_slots(settings: FlashSettings) -> list[SlotState]:
    """The image slots of the glasses (they reset afterwards to leave SMP)."""
    device = Device(settings)
    try:
        info = await device.probe(settings.hello_timeout_s)
        await device.to_smp(info)
        async with device.smp() as smp:
            slots = await smp.slots()
            await smp.reset()
    except _interruptions() as exc:
        raise FlashFailed(
            f"the glasses stopped answering: {_brief(exc, settings.smp_timeout_s)}"
        ) from None
    with contextlib.suppress(PortLostError):  # the list is read; they reboot into their app
        await device.hello_ping(settings.boot_timeout_s)
    return slots


__all__ = ["FlashResult", "Flasher", "list_slots"]
