"""The MCU's internal NOR flash, with a power switch that can fail the supply mid-operation.

NOR rules: erasing sets a whole sector to 0xFF; programming can only clear bits (the result
is ``old & new``), so data must go onto erased flash. Power can fail after any *unit* of
work: one programmed byte or one sector erase. A write cut after ``k`` bytes leaves exactly
``k`` bytes programmed; a cut erase leaves the first half of the sector erased and the rest
as it was (an interrupted erase is never trustworthy). RAM is gone after a cut; the flash
keeps whatever it holds, which is all the bootloader has to recover from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

ERASED: Final = 0xFF


class PowerLoss(Exception):
    """The supply failed during a flash operation."""


@dataclass
class PowerSwitch:
    """Counts units of flash work and fails the supply when an armed budget runs out."""

    units: int = 0  # all work done since creation (a dry run measures a scenario with it)
    remaining: int | None = None  # units left before the cut; None = not armed
    cuts: int = 0

    def arm(self, after_units: int) -> None:
        self.remaining = max(0, after_units)

    def disarm(self) -> None:
        self.remaining = None

    def grant(self, wanted: int) -> int:
        """How many of ``wanted`` units may run before the cut (all of them if not armed)."""
        if self.remaining is None:
            self.units += wanted
            return wanted
        granted = min(wanted, self.remaining)
        self.remaining -= granted
        self.units += granted
        return granted

    def cut(self) -> PowerLoss:
        self.remaining = None  # one cut per arming: the next boot runs on a good supply
        self.cuts += 1
        return PowerLoss("power lost during a flash operation")


@dataclass(frozen=True)
class FlashLayout:
    """Partitions of the simulated flash; sizes in bytes are multiples of ``sector_size``."""

    sector_size: int = 1024
    slot_sectors: int = 64  # each image slot: 64 KiB with the default sector size
    status_sectors: int = 2  # swap progress log
    upload_sectors: int = 4  # upload session record and progress log

    @property
    def slot_size(self) -> int:
        return self.sector_size * self.slot_sectors

    def areas(self) -> dict[str, int]:
        s = self.sector_size
        return {
            "slot0": self.slot_size,
            "slot1": self.slot_size,
            "scratch": s,
            "trailer0": s,
            "trailer1": s,
            "status": s * self.status_sectors,
            "upload": s * self.upload_sectors,
        }


@dataclass
class FlashStats:
    writes: int = 0
    erases: int = 0
    dirty_writes: int = 0  # programs that needed a 0 -> 1 bit change: a bug in the caller


@dataclass
class Flash:
    """Named partitions of one flash device sharing one power switch."""

    layout: FlashLayout = field(default_factory=FlashLayout)
    power: PowerSwitch = field(default_factory=PowerSwitch)
    stats: FlashStats = field(default_factory=FlashStats)
    _areas: dict[str, bytearray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name, size in self.layout.areas().items():
            self._areas.setdefault(name, bytearray([ERASED]) * size)

    def size(self, area: str) -> int:
        return len(self._areas[area])

    def read(self, area: str, offset: int, length: int) -> bytes:
        buf = self._areas[area]
        if offset < 0 or offset + length > len(buf):
            raise ValueError(f"read {area}[{offset}:{offset + length}] outside {len(buf)} bytes")
        return bytes(buf[offset : offset + length])

    def write(self, area: str, offset: int, data: bytes) -> None:
        buf = self._areas[area]
        if offset < 0 or offset + len(data) > len(buf):
            raise ValueError(f"write {area}[{offset}:+{len(data)}] outside {len(buf)} bytes")
        done = self.power.grant(len(data))
        self.stats.writes += 1
        for i in range(done):
            old = buf[offset + i]
            if old & data[i] != data[i]:
                self.stats.dirty_writes += 1
            buf[offset + i] = old & data[i]
        if done < len(data):
            raise self.power.cut()

    def erase(self, area: str, offset: int, length: int) -> None:
        """Erase the sectors covering ``[offset, offset + length)``, one unit each."""
        buf, size = self._areas[area], self.layout.sector_size
        if offset % size or length % size or offset < 0 or offset + length > len(buf):
            raise ValueError(f"erase {area}[{offset}:+{length}] is not sector-aligned")
        for start in range(offset, offset + length, size):
            self.stats.erases += 1
            if not self.power.grant(1):
                half = size // 2
                buf[start : start + half] = bytes([ERASED]) * half
                raise self.power.cut()
            buf[start : start + size] = bytes([ERASED]) * size

    def erase_all(self, area: str) -> None:
        self.erase(area, 0, self.size(area))

    def install(self, area: str, offset: int, data: bytes) -> None:
        """Factory programming (a debug probe, not the MCU): no power switch, no NOR rules."""
        self._areas[area][offset : offset + len(data)] = data


__all__ = ["ERASED", "Flash", "FlashLayout", "FlashStats", "PowerLoss", "PowerSwitch"]
