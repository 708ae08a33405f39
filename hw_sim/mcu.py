"""A display MCU with flash, a bootloader and an SMP server: firmware updates on the simulator.

The MCU runs one of:

- ``app``: the display firmware booted from the primary slot, speaking the link protocol;
  its HELLO_ACK ``fw_version`` is the booted image's header version;
- ``smp``: after an acknowledged ENTER_BOOTLOADER, only SMP (docs/protocol.md section 11)
  until an SMP reset, or until ``idle_timeout_s`` passes without an SMP request;
- ``hung``: a booted app that never answers (``silent`` body) until its watchdog resets it;
- ``halted``: no valid image to run (never reached if the bootloader is right);
- ``off``: no power (unplugged, or a simulated power cut).

Every reset runs the bootloader (hw_sim/bootloader.py), which swaps, reverts and validates.
Power cuts can be injected after a number of flash work units (one programmed byte or one
erased sector) into the first SMP session or boot that does that much flash work.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from dataclasses import dataclass, field

from firmware_bridge.extras import require
from firmware_bridge.protocol.frame import Frame
from firmware_bridge.protocol.messages import (
    ENTER_BOOTLOADER_MAGIC,
    EnterBootloader,
    Message,
    MsgType,
    Ping,
    Reason,
)
from firmware_bridge.update.image import parse_image
from firmware_bridge.update.signature import TrustedKey
from hw_sim.device import DisplayDevice
from hw_sim.events import ResetCause
from hw_sim.profiles import Profile

require("smp", "flash", purpose="the simulated bootloader")
require("cryptography", "flash", purpose="the simulated bootloader")

from hw_sim.bootloader import Bootloader, BootResult  # noqa: E402 - after the extras check
from hw_sim.firmware import factory_image, read_manifest  # noqa: E402
from hw_sim.flash import Flash, FlashLayout, PowerLoss  # noqa: E402
from hw_sim.img_mgmt import ImageManager  # noqa: E402
from hw_sim.smp_server import SmpServer  # noqa: E402

log = logging.getLogger(__name__)


class Mode(enum.Enum):
    APP = "app"
    SMP = "smp"
    HUNG = "hung"
    HALTED = "halted"
    OFF = "off"


@dataclass(frozen=True)
class FirmwareConfig:
    """The bootloader side of a simulated display board."""

    key_pems: tuple[bytes, ...]
    """Public keys (PEM) the bootloader accepts signatures from."""
    initial_image: bytes | None = None
    """Signed image in the primary slot at start; None: the built-in factory image."""
    layout: FlashLayout = field(default_factory=FlashLayout)
    smp_buf_size: int = 1024
    """SMP receive buffer (MCUmgr ``buf_size``): bounds one request."""
    watchdog_s: float = 2.0
    """A hung app is reset by its watchdog after this long."""
    reset_delay_s: float = 0.05
    """After an SMP reset request, time for the answer to leave before the reboot."""
    power_off_s: float = 0.3
    """How long the supply stays off after a simulated power cut."""
    cut_smp_units: int | None = None
    """Cut the power after this much flash work in an SMP session (once)."""
    cut_boot_units: int | None = None
    """Cut the power after this much flash work in a boot, e.g. mid-swap (once)."""


class FlashableDevice(DisplayDevice):
    """A :class:`DisplayDevice` whose firmware lives in simulated flash."""

    def __init__(
        self,
        profile: Profile,
        firmware: FirmwareConfig,
        now_s: float = 0.0,
        *,
        processing_s: float = 0.0,
        reboot_delay_s: float = 0.1,
        byte_time_s: float = 0.0,
    ) -> None:
        self.base_profile = profile
        self.firmware = firmware
        self.flash = Flash(firmware.layout)
        keys = [
            TrustedKey.from_pem(pem, f"bootloader key #{i + 1}")
            for i, pem in enumerate(firmware.key_pems)
        ]
        image = firmware.initial_image or factory_image(profile.fw_version, profile.board_id)
        factory = () if firmware.initial_image else (parse_image(image).hash_tlv or b"",)
        self.flash.install("slot0", 0, image)
        self.bootloader = Bootloader(self.flash, keys, factory)
        self.images = ImageManager(self.flash, self.bootloader)
        self.mode = Mode.OFF
        self.booted: BootResult | None = None
        self.behaviour = "ok"
        self.smp: SmpServer | None = None
        self._smp_out = bytearray()
        self._handover: EnterBootloader | None = None
        self._idle_s: float | None = None
        self._deadline_s: float | None = None  # watchdog, SMP idle timeout or SMP reset
        self._reset_cause = ResetCause.WATCHDOG
        self._power_back_s: float | None = None
        self._cuts = {"smp": firmware.cut_smp_units, "boot": firmware.cut_boot_units}
        super().__init__(
            profile,
            now_s,
            processing_s=processing_s,
            reboot_delay_s=reboot_delay_s,
            byte_time_s=byte_time_s,
        )

    # -- power and boot --------------------------------------------------------------------

    def _arm(self, which: str) -> None:
        units = self._cuts[which]
        if units is not None:
            self.flash.power.arm(units)

    def _disarm(self) -> None:
        self.flash.power.disarm()  # not reached: the cut waits for the next session or boot

    def _power_cut(self, now_s: float, which: str) -> None:
        log.warning("power cut (%s); back in %.2f s", which, self.firmware.power_off_s)
        self._cuts[which] = None
        self.power_off()
        self._power_back_s = now_s + self.firmware.power_off_s

    def power_off(self) -> None:
        self._disarm()
        super().power_off()
        self.mode, self.smp, self._deadline_s = Mode.OFF, None, None
        self._smp_out.clear()

    def _boot(self, now_s: float, cause: ResetCause) -> None:
        self.smp, self._handover, self._deadline_s = None, None, None
        self._arm("boot")
        try:
            result = self.bootloader.boot()
        except PowerLoss:
            self._power_cut(now_s, "boot")
            return
        self._disarm()
        self.booted = result
        if result is None:
            self.mode, self.session = Mode.HALTED, False
            return
        self.behaviour = read_manifest(result.image.body).behaviour
        v = result.image.version
        fw = (min(v.major, 255), min(v.minor, 255), min(v.revision, 255))
        self.profile = dataclasses.replace(self.base_profile, fw_version=fw)
        super()._boot(now_s, cause)
        self.mode = Mode.APP
        if self.behaviour == "silent":
            self.mode = Mode.HUNG
            self._tx.clear()
            self._deadline_s = now_s + self.firmware.watchdog_s

    # -- wire side -------------------------------------------------------------------------

    def receive_bytes(self, data: bytes, now_s: float) -> None:
        if not self.powered:
            return
        if self.mode is Mode.APP:
            super().receive_bytes(data, now_s)
        elif self.mode is Mode.SMP and self.smp is not None:
            try:
                self._smp_out += self.smp.receive(data)
            except PowerLoss:
                self._power_cut(now_s, "smp")
                return
            if self.smp.reset_requested:
                self._deadline_s, self._reset_cause = (
                    now_s + self.firmware.reset_delay_s,
                    ResetCause.RESET_MESSAGE,
                )
            elif self._idle_s is not None:
                self._deadline_s = now_s + self._idle_s

    def poll(self, now_s: float) -> bytes:
        if self._power_back_s is not None and now_s >= self._power_back_s:
            self._power_back_s = None
            self.power_on(now_s)
        if not self.powered:
            return b""
        if self._deadline_s is not None and now_s >= self._deadline_s:
            self._disarm()
            cause = self._reset_cause if self.mode is Mode.SMP else ResetCause.WATCHDOG
            self._reset_cause = ResetCause.WATCHDOG
            self._boot(now_s, cause)
        if self.mode is Mode.SMP:
            out = bytes(self._smp_out)
            self._smp_out.clear()
            return out
        if self.mode is not Mode.APP:
            return b""
        out = super().poll(now_s)  # the ACK of ENTER_BOOTLOADER leaves before the switch
        if self._handover is not None:
            self._enter_smp(self._handover, now_s)
        return out

    def _enter_smp(self, msg: EnterBootloader, now_s: float) -> None:
        log.info("ENTER_BOOTLOADER: speaking SMP (idle timeout %d s)", msg.idle_timeout_s)
        self._handover = None
        self.mode, self.session, self.version, self.session_id = Mode.SMP, False, 0, None
        self.arq.reset()
        self._rx.clear(now_s)
        self.images = ImageManager(self.flash, self.bootloader)  # RAM state starts afresh
        self.smp = SmpServer(self.images, self.base_profile.board_id, self.firmware.smp_buf_size)
        self._idle_s = float(msg.idle_timeout_s) if msg.idle_timeout_s else None
        self._deadline_s = None if self._idle_s is None else now_s + self._idle_s
        self._arm("smp")

    def _dispatch(self, msg: Message, frame: Frame, now_s: float) -> None:
        if isinstance(msg, EnterBootloader):
            if msg.magic != ENTER_BOOTLOADER_MAGIC:
                self._error(frame, Reason.BAD_PAYLOAD, "ENTER_BOOTLOADER magic must be SMP1")
            else:
                self._handover = msg
            return
        if isinstance(msg, Ping) and self.behaviour == "no-pong":
            return
        super()._dispatch(msg, frame, now_s)

    def _on_bad_payload(self, frame: Frame, detail: str) -> None:
        if frame.type == MsgType.ENTER_BOOTLOADER:
            self._error(frame, Reason.BAD_LENGTH, detail)
        else:
            super()._on_bad_payload(frame, detail)


__all__ = ["FirmwareConfig", "FlashableDevice", "Mode"]
