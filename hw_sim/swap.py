"""Image trailers and the resumable slot swap of the simulated bootloader (MCUboot swap-scratch).

Each slot has a trailer: ``image_ok`` (byte 0), ``copy_done`` (byte 1) and a 16-byte magic
(bytes 16..31), written in that order so that a torn write never leaves a valid magic. The
swap exchanges the two slots sector by sector through the scratch sector, three steps per
sector, and appends one record to the status log after each step:

    0: erase scratch,  copy slot1[i] -> scratch
    1: erase slot1[i], copy slot0[i] -> slot1[i]
    2: erase slot0[i], copy scratch  -> slot0[i]

Every step can be redone from the flash alone as long as the step before it completed, so
after a power cut the bootloader repeats the first unlogged step and carries on. A record is
8 bytes with a CRC; a torn record fails its CRC and is skipped.
"""

from __future__ import annotations

import binascii
import enum
import logging
import struct
from dataclasses import dataclass
from typing import Final

from hw_sim.flash import ERASED, Flash

log = logging.getLogger(__name__)

BOOT_MAGIC: Final = bytes.fromhex("77c295f360d2ef7f3552500f2cb67980")  # MCUboot's trailer magic
FLAG_SET: Final = 0x01
_IMAGE_OK, _COPY_DONE, _MAGIC = 0, 1, 16
_RECORD = struct.Struct("<BBHHH")  # kind, a, b, spare, crc
_START, _STEP, _FINISHED = 0x51, 0x52, 0x53


class SwapType(enum.IntEnum):
    """MCUboot's swap types (BOOT_SWAP_TYPE_*)."""

    NONE = 1
    TEST = 2
    PERM = 3
    REVERT = 4


@dataclass(frozen=True)
class TrailerState:
    magic: bool
    image_ok: bool
    copy_done: bool


def read_trailer(flash: Flash, slot: int) -> TrailerState:
    raw = flash.read(f"trailer{slot}", 0, _MAGIC + len(BOOT_MAGIC))
    return TrailerState(
        magic=raw[_MAGIC:] == BOOT_MAGIC,
        image_ok=raw[_IMAGE_OK] == FLAG_SET,
        copy_done=raw[_COPY_DONE] == FLAG_SET,
    )


def write_trailer(flash: Flash, slot: int, *, image_ok: bool, copy_done: bool) -> None:
    """Rewrite a trailer from scratch; the magic goes last."""
    area = f"trailer{slot}"
    flash.erase_all(area)
    if image_ok:
        flash.write(area, _IMAGE_OK, bytes([FLAG_SET]))
    if copy_done:
        flash.write(area, _COPY_DONE, bytes([FLAG_SET]))
    flash.write(area, _MAGIC, BOOT_MAGIC)


def set_image_ok(flash: Flash, slot: int) -> None:
    """Confirm: one byte onto an erased cell, so it is either written or not."""
    if flash.read(f"trailer{slot}", _IMAGE_OK, 1)[0] == ERASED:
        flash.write(f"trailer{slot}", _IMAGE_OK, bytes([FLAG_SET]))


@dataclass(frozen=True)
class SwapProgress:
    swap_type: SwapType
    sectors: int
    next_step: int  # steps done: 3 per sector
    finished: bool  # trailers written; only the log remains to be erased


class Swapper:
    """Runs, logs and resumes a swap of the two image slots."""

    def __init__(self, flash: Flash) -> None:
        self.flash = flash
        self.sector = flash.layout.sector_size

    def _records(self) -> tuple[list[tuple[int, int, int]], int]:
        """Valid records in order and the offset of the first erased slot of the log."""
        found: list[tuple[int, int, int]] = []
        size = self.flash.size("status")
        for pos in range(0, size, _RECORD.size):
            raw = self.flash.read("status", pos, _RECORD.size)
            if raw == bytes([ERASED]) * _RECORD.size:
                return found, pos
            kind, a, b, _spare, crc = _RECORD.unpack(raw)
            if binascii.crc_hqx(raw[:-2], 0xFFFF) == crc:
                found.append((kind, a, b))
            # else: a record torn by a power cut; the step it logged is simply redone
        return found, size

    def _append(self, kind: int, a: int, b: int) -> None:
        _, pos = self._records()
        body = _RECORD.pack(kind, a, b, 0, 0)[:-2]
        self.flash.write("status", pos, body + struct.pack("<H", binascii.crc_hqx(body, 0xFFFF)))

    def pending(self) -> SwapProgress | None:
        """The swap the log says is under way, or None."""
        records, _ = self._records()
        if not records or records[0][0] != _START:
            return None
        _, swap_type, sectors = records[0]
        steps = [3 * b + a for kind, a, b in records if kind == _STEP]
        finished = any(kind == _FINISHED for kind, _, _ in records)
        return SwapProgress(SwapType(swap_type), sectors, max(steps, default=-1) + 1, finished)

    def start(self, swap_type: SwapType, sectors: int) -> None:
        log.info("swap %s over %d sectors starts", swap_type.name, sectors)
        # The upload log describes what the secondary slot holds; the swap changes that.
        self.flash.erase_all("upload")
        self.flash.erase_all("status")  # a log must never continue an older one
        self._append(_START, swap_type, sectors)
        self.resume(SwapProgress(swap_type, sectors, 0, False))

    def resume(self, progress: SwapProgress) -> None:
        if progress.next_step or progress.finished:
            log.info("resuming %s at step %d", progress.swap_type.name, progress.next_step)
        if not progress.finished:
            for step in range(progress.next_step, 3 * progress.sectors):
                self._step(step)
            self._write_trailers(progress.swap_type)
            self._append(_FINISHED, 0, 0)
        self.flash.erase_all("status")
        log.info("swap %s done", progress.swap_type.name)

    def _step(self, step: int) -> None:
        sector, phase = divmod(step, 3)
        off, n, f = sector * self.sector, self.sector, self.flash
        if phase == 0:
            f.erase_all("scratch")
            f.write("scratch", 0, f.read("slot1", off, n))
        elif phase == 1:
            f.erase("slot1", off, n)
            f.write("slot1", off, f.read("slot0", off, n))
        else:
            f.erase("slot0", off, n)
            f.write("slot0", off, f.read("scratch", 0, n))
        self._append(_STEP, phase, sector)

    def _write_trailers(self, swap_type: SwapType) -> None:
        # A test image stays unconfirmed (the next boot reverts it); a permanent image and a
        # restored one are confirmed. The request in the secondary trailer is consumed.
        write_trailer(self.flash, 0, image_ok=swap_type is not SwapType.TEST, copy_done=True)
        self.flash.erase_all("trailer1")


__all__ = [
    "BOOT_MAGIC",
    "SwapProgress",
    "SwapType",
    "Swapper",
    "TrailerState",
    "read_trailer",
    "set_image_ok",
    "write_trailer",
]
