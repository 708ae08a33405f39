"""The simulated MCU's SMP server: OS and image management over the serial transport.

Requests and responses are the ``smp`` package's message classes (CBOR through ``cbor2``);
errors are the SMP version 2 group error ``{"err": {"group", "rc"}}`` for image management
failures and the generic ``{"rc", "rsn"}`` otherwise, as Zephyr's MCUmgr answers.
Supported: OS echo, reset, MCUmgr parameters, application info (``i``: the board id) and
bootloader info; image state read / write, upload and erase.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Final

import cbor2
from pydantic import ValidationError
from smp import header as smphdr
from smp import image_management as smpimg
from smp import os_management as smpos
from smp.error import MGMT_ERR

from hw_sim.img_mgmt import ImageManager, ImgError
from hw_sim.smp_serial import SmpLineReader, encode_frame

log = logging.getLogger(__name__)

_HEADER: Final = struct.Struct(">BBHHBB")  # op|version, flags, length, group, sequence, command
_OS, _IMG = smphdr.GroupId.OS_MANAGEMENT, smphdr.GroupId.IMAGE_MANAGEMENT
_Handler = Callable[[bytes, int, smphdr.Version], bytes]


class SmpServer:
    """Feed :meth:`receive` with bytes from the host; it returns the bytes to send back."""

    def __init__(self, images: ImageManager, board_id: str, buf_size: int = 1024) -> None:
        self.images = images
        self.board_id = board_id
        self.buf_size = buf_size
        self.reader = SmpLineReader(max_message_bytes=buf_size)
        self.reset_requested = False
        self.requests = 0
        cmd, op = smphdr.CommandId, smphdr.OP
        self._handlers: dict[tuple[int, int, int], _Handler] = {
            (_OS, cmd.OSManagement.ECHO, op.WRITE): self._echo,
            (_OS, cmd.OSManagement.RESET, op.WRITE): self._reset,
            (_OS, cmd.OSManagement.MCUMGR_PARAMETERS, op.READ): self._params,
            (_OS, cmd.OSManagement.OS_APPLICATION_INFO, op.READ): self._app_info,
            (_OS, cmd.OSManagement.BOOTLOADER_INFO, op.READ): self._bootloader_info,
            (_IMG, cmd.ImageManagement.STATE, op.READ): self._state_read,
            (_IMG, cmd.ImageManagement.STATE, op.WRITE): self._state_write,
            (_IMG, cmd.ImageManagement.UPLOAD, op.WRITE): self._upload,
            (_IMG, cmd.ImageManagement.ERASE, op.WRITE): self._erase,
        }

    def receive(self, data: bytes) -> bytes:
        """Handle what arrived; raises PowerLoss if the supply fails during flash work."""
        return b"".join(encode_frame(self.handle(m)) for m in self.reader.feed(data))

    def handle(self, message: bytes) -> bytes:
        """One SMP request message to its response message."""
        if len(message) < _HEADER.size:
            return self._raw(0, 0, 0, 0, smphdr.Version.V1, {"rc": MGMT_ERR.EINVAL})
        op_ver, _flags, _length, group, seq, command = _HEADER.unpack_from(message)
        op, version = op_ver & 0x07, smphdr.Version((op_ver >> 3) & 0x03)
        self.requests += 1
        handler = self._handlers.get((group, command, op))
        if handler is None:
            log.info("SMP group %d command %d op %d not supported", group, command, op)
            return self._raw(group, command, op, seq, version, {"rc": MGMT_ERR.ENOTSUP})
        try:
            return handler(message, seq, version)
        except ValidationError as exc:
            detail = f"bad request: {exc.error_count()} field error(s)"
            return self._raw(
                group, command, op, seq, version, {"rc": MGMT_ERR.EINVAL, "rsn": detail}
            )
        except ImgError as exc:
            log.info("image request refused (%d): %s", exc.rc, exc)
            body: dict[str, object]
            if exc.generic or version is smphdr.Version.V1:
                body = {"rc": int(exc.rc), "rsn": str(exc)}
            else:
                body = {"err": {"group": int(group), "rc": int(exc.rc)}}
            return self._raw(group, command, op, seq, version, body)

    @staticmethod
    def _raw(
        group: int,
        command: int,
        op: int,
        seq: int,
        version: smphdr.Version,
        body: dict[str, object],
    ) -> bytes:
        data = cbor2.dumps(body, canonical=True)
        response_op = smphdr.OP.WRITE_RSP if op == smphdr.OP.WRITE else smphdr.OP.READ_RSP
        return _HEADER.pack((version << 3) | response_op, 0, len(data), group, seq, command) + data

    # -- OS management ---------------------------------------------------------------------

    def _echo(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        request = smpos.EchoWriteRequest.loads(message)
        return smpos.EchoWriteResponse(sequence=seq, version=version, r=request.d).BYTES

    def _reset(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        smpos.ResetWriteRequest.loads(message)
        self.reset_requested = True  # the MCU reboots once the answer is on the wire
        return smpos.ResetWriteResponse(sequence=seq, version=version).BYTES

    def _params(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        return smpos.MCUMgrParametersReadResponse(
            sequence=seq, version=version, buf_size=self.buf_size, buf_count=1
        ).BYTES

    def _app_info(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        # Zephyr's format letter "i" is the hardware platform: the board id.
        return smpos.OSApplicationInfoReadResponse(
            sequence=seq, version=version, output=self.board_id
        ).BYTES

    def _bootloader_info(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        return smpos.BootloaderInformationReadResponse(
            sequence=seq, version=version, bootloader="MCUboot"
        ).BYTES

    # -- image management ------------------------------------------------------------------

    def _states(self, seq: int, version: smphdr.Version, write: bool) -> bytes:
        images = [
            smpimg.ImageState(
                slot=s.slot,
                version=s.version,
                image=0,
                hash=s.hash,
                bootable=True,
                pending=s.pending,
                confirmed=s.confirmed,
                active=s.active,
                permanent=s.permanent,
            )
            for s in self.images.states()
        ]
        cls = smpimg.ImageStatesWriteResponse if write else smpimg.ImageStatesReadResponse
        return cls(sequence=seq, version=version, images=images, splitStatus=0).BYTES

    def _state_read(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        return self._states(seq, version, write=False)

    def _state_write(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        request = smpimg.ImageStatesWriteRequest.loads(message)
        self.images.set_state(request.hash, request.confirm)
        return self._states(seq, version, write=True)

    def _upload(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        r = smpimg.ImageUploadWriteRequest.loads(message)
        if r.image not in (None, 0):
            raise ImgError(smpimg.IMG_MGMT_ERR.INVALID_SLOT, f"no image {r.image} on this MCU")
        off, match = self.images.upload(r.off, r.data, r.len, r.sha, bool(r.upgrade))
        return smpimg.ImageUploadWriteResponse(
            sequence=seq, version=version, off=off, match=match
        ).BYTES

    def _erase(self, message: bytes, seq: int, version: smphdr.Version) -> bytes:
        request = smpimg.ImageEraseRequest.loads(message)
        self.images.erase(1 if request.slot is None else request.slot)
        return smpimg.ImageEraseResponse(sequence=seq, version=version).BYTES


__all__ = ["SmpServer"]
