"""The simulated bootloader and SMP server driven in-process, without a port or a process.

:class:`Board` holds the flash (what survives a reset or a power cut) and rebuilds the RAM
side (image manager, SMP server) at every reset, as the MCU does. Requests are the ``smp``
package's messages going through :meth:`hw_sim.smp_server.SmpServer.handle`, the same code
the simulator process runs; an upload follows smpclient's algorithm (first chunk with length
and SHA-256, then from whatever offset the device answers).
"""

from __future__ import annotations

import hashlib
from typing import Any

from smp import image_management as smpimg
from smp import os_management as smpos

from firmware_bridge.update.image import parse_image
from firmware_bridge.update.signature import TrustedKey
from hw_sim.bootloader import Bootloader, BootResult
from hw_sim.flash import Flash, FlashLayout
from hw_sim.img_mgmt import ImageManager
from hw_sim.smp_server import SmpServer

SMALL_LAYOUT = FlashLayout(sector_size=512, slot_sectors=16, status_sectors=1, upload_sectors=2)
CHUNK_BYTES = 700  # about what smpclient puts in one request for a 1 KiB server buffer


class SmpRefused(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.body = body


class Board:
    def __init__(
        self, key_pems: list[bytes], initial: bytes, layout: FlashLayout = SMALL_LAYOUT
    ) -> None:
        self.flash = Flash(layout)
        self.flash.install("slot0", 0, initial)
        keys = [TrustedKey.from_pem(pem, f"key {i}") for i, pem in enumerate(key_pems)]
        self.bootloader = Bootloader(self.flash, keys)
        self.booted: BootResult | None = None
        self.reset()

    def reset(self) -> BootResult | None:
        """A reset or power-on: the bootloader runs, RAM state starts afresh."""
        self.images = ImageManager(self.flash, self.bootloader)
        self.server = SmpServer(self.images, "glasses-proto-640")
        self.booted = self.bootloader.boot()
        return self.booted

    @property
    def running(self) -> str:
        assert self.booted is not None, "no bootable image"
        return str(self.booted.image.version)

    def request(self, request: Any, response_cls: Any) -> Any:
        raw = self.server.handle(request.BYTES)
        try:
            return response_cls.loads(raw)
        except Exception:
            import cbor2

            raise SmpRefused(cbor2.loads(raw[8:])) from None

    def upload(self, image: bytes, chunk_bytes: int = CHUNK_BYTES) -> int:
        """Upload like smpclient; returns the offset the device answered the first chunk with."""
        sha = hashlib.sha256(image).digest()
        first = smpimg.ImageUploadWriteRequest(
            off=0, data=image[:chunk_bytes], len=len(image), sha=sha
        )
        reply = self.request(first, smpimg.ImageUploadWriteResponse)
        resumed_at = int(reply.off)
        while reply.off != len(image):
            off = int(reply.off)
            extra = {"len": len(image)} if off == 0 else {}
            req = smpimg.ImageUploadWriteRequest(
                off=off, data=image[off : off + chunk_bytes], **extra
            )
            reply = self.request(req, smpimg.ImageUploadWriteResponse)
        assert reply.match in (None, True), "device says the upload does not match its SHA-256"
        return resumed_at

    def mark_test(self, image: bytes) -> None:
        digest = parse_image(image).hash_tlv
        self.request(
            smpimg.ImageStatesWriteRequest(hash=digest, confirm=False),
            smpimg.ImageStatesWriteResponse,
        )

    def confirm(self) -> None:
        self.request(smpimg.ImageStatesWriteRequest(confirm=True), smpimg.ImageStatesWriteResponse)

    def states(self) -> list[smpimg.ImageState]:
        reply = self.request(smpimg.ImageStatesReadRequest(), smpimg.ImageStatesReadResponse)
        return list(reply.images)

    def smp_reset(self) -> BootResult | None:
        self.request(smpos.ResetWriteRequest(), smpos.ResetWriteResponse)
        return self.reset()


__all__ = ["CHUNK_BYTES", "SMALL_LAYOUT", "Board", "SmpRefused"]
