"""The simulated MCUboot: picks the swap to do from the trailers, validates, swaps, boots.

Decision at every boot (MCUboot's swap type table, trailers in hw_sim/swap.py):

- a swap logged as under way: finish it (power was lost in the middle);
- secondary trailer has the magic: a TEST swap (``image_ok`` unset) or a PERM swap
  (``image_ok`` set), but only if the secondary image validates; otherwise the request and
  the image header are erased and the primary boots;
- primary trailer has magic and ``copy_done`` but no ``image_ok``: the test image was not
  confirmed, so REVERT (swap back; the restored image is marked confirmed);
- otherwise nothing to do.

The primary image is validated (hash and signature, MCUBOOT_VALIDATE_PRIMARY_SLOT) before it
runs. Images are validated as MCUboot does: SHA-256 over header, body and protected TLVs,
then the signature with one of the keys the bootloader was built with. The factory image of
a fresh board is trusted by its hash, as if programmed over SWD at the factory.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from firmware_bridge.update.image import ImageFormatError, McubootImage, parse_image
from firmware_bridge.update.signature import ImageRejected, TrustedKey, verify_image
from hw_sim.flash import Flash
from hw_sim.swap import Swapper, SwapType, read_trailer, set_image_ok

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BootResult:
    image: McubootImage  # what now runs from the primary slot
    swap: SwapType  # the swap this boot performed or finished
    resumed: bool = False  # the swap had been cut short by a power loss and was finished now


class Bootloader:
    def __init__(
        self, flash: Flash, keys: Sequence[TrustedKey], factory_hashes: Collection[bytes] = ()
    ) -> None:
        self.flash = flash
        self.keys = tuple(keys)
        self.factory_hashes = frozenset(factory_hashes)
        self.swapper = Swapper(flash)
        self.last_rejection: str | None = None  # why the newest secondary image was refused

    def image_in(self, slot: int) -> McubootImage | None:
        """The image in ``slot`` if its header and TLVs parse (it may still be invalid)."""
        area = f"slot{slot}"
        try:
            return parse_image(self.flash.read(area, 0, self.flash.size(area)))
        except ImageFormatError:
            return None

    def rejection(self, image: McubootImage | None) -> str | None:
        """Why ``image`` must not boot, or None if it may."""
        if image is None:
            return "no valid image header"
        if image.total_size > self.flash.layout.slot_size:
            return "image larger than a slot"
        if image.hash_tlv in self.factory_hashes and image.computed_hash() == image.hash_tlv:
            return None
        try:
            verify_image(image, self.keys)
        except ImageRejected as exc:
            return str(exc)
        return None

    def swap_type(self) -> SwapType:
        primary, secondary = read_trailer(self.flash, 0), read_trailer(self.flash, 1)
        if secondary.magic:
            return SwapType.PERM if secondary.image_ok else SwapType.TEST
        if primary.magic and primary.copy_done and not primary.image_ok:
            return SwapType.REVERT
        return SwapType.NONE

    def boot(self) -> BootResult | None:
        """Run the boot decision; None if no image may run (the board would be bricked).

        Raises PowerLoss if the supply fails during flash work; calling it again resumes.
        """
        swap = SwapType.NONE
        progress = self.swapper.pending()
        if progress is not None:
            swap = progress.swap_type
            self.swapper.resume(progress)
        else:
            swap = self._decide()
            if swap is not SwapType.NONE:
                self.swapper.start(swap, self._sectors())
        image = self.image_in(0)
        reason = self.rejection(image)
        if image is None or reason is not None:
            log.error("no bootable image in the primary slot: %s", reason)
            return None
        log.info("booting %s from the primary slot (swap %s)", image.version, swap.name)
        return BootResult(image, swap, resumed=progress is not None)

    def _decide(self) -> SwapType:
        swap = self.swap_type()
        if swap in (SwapType.TEST, SwapType.PERM):
            reason = self.rejection(self.image_in(1))
            if reason is not None:
                self.last_rejection = reason
                log.warning("secondary image refused, not swapping: %s", reason)
                for area in ("trailer1", "upload"):
                    self.flash.erase_all(area)
                self.flash.erase("slot1", 0, self.flash.layout.sector_size)
                return SwapType.NONE
        elif swap is SwapType.REVERT and self.image_in(1) is None:
            log.error("cannot revert: nothing in the secondary slot; keeping the test image")
            set_image_ok(self.flash, 0)
            return SwapType.NONE
        return swap

    def _sectors(self) -> int:
        size = self.flash.layout.sector_size
        totals = [img.total_size for img in (self.image_in(0), self.image_in(1)) if img]
        longest = max(totals, default=self.flash.layout.slot_size)
        return min(-(-longest // size), self.flash.layout.slot_sectors)


__all__ = ["BootResult", "Bootloader"]
