"""SMP image and OS management over the serial port, through smpclient (the ``flash`` extra).

A thin layer over :class:`smpclient.SMPClient` with its serial transport: typed slot states,
the upload as an async iterator of offsets, and device refusals turned into FlashFailed
with the error code's name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import IntEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any

from firmware_bridge.update.slots import SlotState
from glasses.extras import require
from glasses.flashing.preflight import FlashFailed

if TYPE_CHECKING:
    from smpclient import SMPClient


def _code_name(codes: type[IntEnum], rc: int) -> str:
    try:
        return codes(rc).name
    except ValueError:
        return str(rc)


def describe_error(response: Any) -> str:
    """The name of an SMP error response's code (and its reason text, if any)."""
    from smp.error import MGMT_ERR
    from smp.image_management import IMG_MGMT_ERR

    err = getattr(response, "err", None)
    if err is not None:
        return f"{_code_name(IMG_MGMT_ERR, int(err.rc))} (group {int(err.group)})"
    name = _code_name(MGMT_ERR, int(getattr(response, "rc", -1)))
    reason = getattr(response, "rsn", None)
    return f"{name}: {reason}" if reason else name


class SmpSession:
    """An open SMP connection to the device on ``port``; use ``async with``."""

    def __init__(self, port: str, baud: int, timeout_s: float) -> None:
        self.port = port
        self.baud = baud
        self.timeout_s = timeout_s
        self._client: SMPClient | None = None

    async def __aenter__(self) -> SmpSession:
        require("smpclient", "flash", purpose="firmware updates over SMP")
        from smpclient import SMPClient
        from smpclient.transport.serial import SMPSerialTransport

        self._client = SMPClient(SMPSerialTransport(baudrate=self.baud), self.port, self.timeout_s)
        await self._client.connect(self.timeout_s)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.disconnect()
            self._client = None

    @property
    def client(self) -> SMPClient:
        if self._client is None:
            raise RuntimeError("SmpSession used outside 'async with'")
        return self._client

    async def _ok(self, request: Any, what: str, timeout_s: float | None = None) -> Any:
        from smpclient.generics import error

        response = await self.client.request(request, timeout_s or self.timeout_s)
        if error(response):
            raise FlashFailed(f"the glasses refused to {what}: {describe_error(response)}")
        return response

    async def echo(self, timeout_s: float) -> bool:
        """True if an SMP server answers (the device is in its bootloader mode)."""
        from smpclient.requests.os_management import EchoWrite

        try:
            await self._ok(EchoWrite(d="glasses"), "echo", timeout_s)
        except TimeoutError:
            return False
        return True

    async def board(self) -> str:
        from smpclient.requests.os_management import OSApplicationInfoRead

        return str((await self._ok(OSApplicationInfoRead(format="i"), "name the board")).output)

    async def slots(self) -> list[SlotState]:
        from smpclient.requests.image_management import ImageStatesRead

        reply = await self._ok(ImageStatesRead(), "list its images")
        return [
            SlotState(
                slot=s.slot,
                version=s.version,
                hash=bytes(s.hash or b""),
                active=bool(s.active),
                confirmed=bool(s.confirmed),
                pending=bool(s.pending),
                permanent=bool(s.permanent),
            )
            for s in reply.images
        ]

    def first_chunk_bytes(self, data: bytes) -> int:
        """How much of ``data`` smpclient puts in the first upload request: an answer beyond
        that means the device resumed an earlier, interrupted upload."""
        from hashlib import sha256

        from smpclient.requests.image_management import ImageUploadWrite

        first = ImageUploadWrite(
            off=0, data=b"", image=0, len=len(data), sha=sha256(data).digest(), upgrade=False
        )
        return min(self.client.get_max_cbor_and_data_size(first)[1], len(data))

    async def upload(self, data: bytes) -> AsyncIterator[int]:
        """Upload into the secondary slot, yielding the offset the device reports after each
        chunk; the first one shows where an interrupted upload resumed."""
        from smpclient.exceptions import SMPUploadError

        try:
            async for offset in self.client.upload(data, first_timeout_s=self.timeout_s * 4):
                yield offset
        except SMPUploadError as exc:
            detail = (
                describe_error(exc.args[0])
                if exc.args and not isinstance(exc.args[0], str)
                else exc
            )
            raise FlashFailed(f"the glasses refused the upload: {detail}") from None

    async def mark_test(self, image_hash: bytes) -> None:
        from smpclient.requests.image_management import ImageStatesWrite

        await self._ok(ImageStatesWrite(hash=image_hash, confirm=False), "mark the image for test")

    async def confirm(self) -> None:
        """Confirm the running image, so the bootloader keeps it."""
        from smpclient.requests.image_management import ImageStatesWrite

        await self._ok(ImageStatesWrite(confirm=True), "confirm the image")

    async def reset(self) -> None:
        from smpclient.requests.os_management import ResetWrite

        await self._ok(ResetWrite(), "reset")


__all__ = ["SlotState", "SmpSession", "describe_error"]
