"""Image management of the simulated MCU (MCUmgr group 1): slot states, upload, test, confirm.

Uploads go into the secondary slot, erasing each sector when the first byte lands in it.
The session (SHA-256 of the whole upload and its length) and its progress are logged in the
``upload`` flash area, so after a reset or a power cut an upload that starts again with the
same SHA-256 resumes at the last logged offset, as MCUmgr's upload resumption does. Progress
entries carry a CRC: one torn by a power cut is skipped and its chunk written again (the same
bytes onto the same cells, which NOR flash allows).
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import struct
from dataclasses import dataclass
from typing import Final

from smp.error import MGMT_ERR
from smp.image_management import IMG_MGMT_ERR

from firmware_bridge.update.slots import SlotState
from hw_sim.bootloader import Bootloader
from hw_sim.flash import ERASED, Flash
from hw_sim.swap import SwapType, set_image_ok, write_trailer

log = logging.getLogger(__name__)

_SESSION = struct.Struct("<32sI")  # SHA-256 of the upload, its length; then a CRC16
_PROGRESS = struct.Struct("<I")  # offset reached; then a CRC16
_PROGRESS_AT: Final = 64


class ImgError(Exception):
    """A refused request: ``rc`` is an IMG_MGMT_ERR code, or an MGMT_ERR one if ``generic``."""

    def __init__(self, rc: int, detail: str, *, generic: bool = False) -> None:
        super().__init__(detail)
        self.rc = rc
        self.generic = generic


@dataclass
class _Upload:
    sha: bytes | None
    length: int
    offset: int
    erased_upto: int


def _crc(data: bytes) -> bytes:
    return struct.pack("<H", binascii.crc_hqx(data, 0xFFFF))


class ImageManager:
    """Answers image requests; ``upload`` state in RAM is lost at every reset."""

    def __init__(self, flash: Flash, bootloader: Bootloader) -> None:
        self.flash = flash
        self.boot = bootloader
        self.sector = flash.layout.sector_size
        self._upload: _Upload | None = None

    def states(self) -> list[SlotState]:
        swap = self.boot.swap_type()
        out: list[SlotState] = []
        for slot in (0, 1):
            image = self.boot.image_in(slot)
            if image is None or image.hash_tlv is None:
                continue
            v = image.version
            version = f"{v.major}.{v.minor}.{v.revision}" + (f".{v.build}" if v.build else "")
            primary = slot == 0
            out.append(
                SlotState(
                    slot=slot,
                    version=version,
                    hash=image.hash_tlv,
                    active=primary,
                    confirmed=(swap is not SwapType.REVERT) if primary else swap is SwapType.REVERT,
                    pending=not primary and swap in (SwapType.TEST, SwapType.PERM),
                    permanent=not primary and swap is SwapType.PERM,
                )
            )
        return out

    # -- upload ----------------------------------------------------------------------------

    def _saved(self) -> tuple[bytes, int, int] | None:
        raw = self.flash.read("upload", 0, _SESSION.size + 2)
        if _crc(raw[:-2]) != raw[-2:]:
            return None
        sha, length = _SESSION.unpack(raw[:-2])
        offset, size = 0, self.flash.size("upload")
        for pos in range(_PROGRESS_AT, size - _PROGRESS.size - 2, 8):
            entry = self.flash.read("upload", pos, _PROGRESS.size + 2)
            if entry == bytes([ERASED]) * len(entry):
                break
            if _crc(entry[:-2]) == entry[-2:]:
                (offset,) = _PROGRESS.unpack(entry[:-2])
        return sha, length, offset

    def _log_progress(self, offset: int) -> None:
        size = self.flash.size("upload")
        for pos in range(_PROGRESS_AT, size - _PROGRESS.size - 2, 8):
            if self.flash.read("upload", pos, 1)[0] == ERASED:
                body = _PROGRESS.pack(offset)
                self.flash.write("upload", pos, body + _crc(body))
                return
        # The log is full: later progress is not recorded and a resume starts earlier.

    def upload(
        self, off: int, data: bytes, length: int | None, sha: bytes | None, upgrade: bool
    ) -> tuple[int, bool | None]:
        """Write one chunk; returns (next offset expected, SHA-256 match when complete)."""
        if off == 0:
            resumed = self._begin(length, sha, upgrade, data)
            if resumed is not None:
                return resumed
        up = self._upload
        if up is None:
            return 0, None  # no session (e.g. after a reset): the client starts again at 0
        if off != up.offset:
            return up.offset, None  # a lost or repeated chunk: tell the client where we are
        end = off + len(data)
        if end > up.length:
            raise ImgError(IMG_MGMT_ERR.INVALID_IMAGE_DATA_OVERRUN, "more data than announced")
        while up.erased_upto < end:
            self.flash.erase("slot1", up.erased_upto, self.sector)
            up.erased_upto += self.sector
        self.flash.write("slot1", off, data)
        self._log_progress(end)
        up.offset = end
        return end, self._match(up) if end == up.length else None

    def _match(self, up: _Upload) -> bool | None:
        if up.sha is None:
            return None
        return hashlib.sha256(self.flash.read("slot1", 0, up.length)).digest() == up.sha

    def _begin(
        self, length: int | None, sha: bytes | None, upgrade: bool, first: bytes
    ) -> tuple[int, bool | None] | None:
        if length is None:
            raise ImgError(IMG_MGMT_ERR.INVALID_LENGTH, "the first chunk must carry len")
        if length > self.flash.layout.slot_size:
            raise ImgError(IMG_MGMT_ERR.INVALID_IMAGE_TOO_LARGE, "larger than the slot")
        if self.boot.swap_type() is SwapType.REVERT:
            raise ImgError(
                IMG_MGMT_ERR.NO_FREE_SLOT,
                "the running image is on test and slot 1 holds the one to revert to: "
                "confirm it or reset first",
            )
        saved = self._saved()
        if sha is not None and saved is not None and saved[:2] == (sha, length) and saved[2]:
            offset = saved[2]
            erased = -(-offset // self.sector) * self.sector
            self._upload = up = _Upload(sha, length, offset, erased)
            log.info("upload of %d bytes resumes at %d", length, offset)
            return offset, self._match(up) if offset == length else None
        if upgrade:
            self._check_upgrade(first)
        self.flash.erase_all("trailer1")  # no stale request may point at a half-written slot
        self.flash.erase_all("upload")
        if sha is not None:
            body = _SESSION.pack(sha, length)
            self.flash.write("upload", 0, body + _crc(body))
        self._upload = _Upload(sha, length, 0, 0)
        return None

    def _check_upgrade(self, first: bytes) -> None:
        running = self.boot.image_in(0)
        if running is None or len(first) < 32:
            return
        major, minor, rev = first[20], first[21], int.from_bytes(first[22:24], "little")
        if (major, minor, rev) <= running.version.triple:
            raise ImgError(
                IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER, "not newer than the running image"
            )

    # -- state -----------------------------------------------------------------------------

    def set_state(self, hash_: bytes | None, confirm: bool) -> None:
        primary, secondary = self.boot.image_in(0), self.boot.image_in(1)
        if confirm and (hash_ is None or (primary is not None and hash_ == primary.hash_tlv)):
            set_image_ok(self.flash, 0)  # the running image stays; no-op if already confirmed
            return
        if hash_ is None:
            raise ImgError(MGMT_ERR.EINVAL, "hash required to mark an image for test", generic=True)
        if primary is not None and hash_ == primary.hash_tlv:
            raise ImgError(IMG_MGMT_ERR.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED, "already running")
        if secondary is None or hash_ != secondary.hash_tlv:
            raise ImgError(IMG_MGMT_ERR.HASH_NOT_FOUND, "no image with that hash")
        if self.boot.swap_type() is SwapType.REVERT:
            raise ImgError(
                IMG_MGMT_ERR.IMAGE_ALREADY_PENDING, "confirm or reset the test image first"
            )
        if secondary.computed_hash() != hash_:
            raise ImgError(IMG_MGMT_ERR.INVALID_HASH, "slot 1 does not match its hash: incomplete?")
        write_trailer(self.flash, 1, image_ok=confirm, copy_done=False)

    def erase(self, slot: int) -> None:
        if slot != 1:
            raise ImgError(IMG_MGMT_ERR.INVALID_SLOT, "only slot 1 can be erased")
        if self.boot.swap_type() is not SwapType.NONE:
            raise ImgError(
                MGMT_ERR.EBADSTATE, "slot 1 is pending or the revert target", generic=True
            )
        for area in ("trailer1", "upload", "slot1"):
            self.flash.erase_all(area)
        self._upload = None


__all__ = ["ImageManager", "ImgError"]
