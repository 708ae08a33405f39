"""Reading: a capture request -> a still, sharp camera frame -> OCR text.

The camera is opened on the first capture and closed after ``idle_close_s`` without one (an open
camera drains frames, power and CPU). A camera that fails to open or goes away is reported
(:class:`PeripheralState`) and opened again at the next capture, so unplugging and replugging it
is survived. Every capture request gets exactly one :class:`OcrText` reply, with ``error`` set
when there was nothing to read. Frames go to OCR through a keep-newest channel: an older frame
still waiting is never read after a newer one. A ``look`` capture (the LOOK intent) takes the
same still and answers with a :class:`StillImage`, the frame as JPEG for a vision-language
model, instead of reading it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from glasses.errors import GlassesError
from glasses.pipeline.channel import Channel
from glasses.pipeline.messages import (
    CameraFrame,
    CaptureRequest,
    Message,
    OcrText,
    PeripheralState,
    StillImage,
)
from glasses.pipeline.stage import Send, Stage
from glasses.pipeline.worker import Worker
from glasses.sources.camera import ThreadedCamera
from glasses.sources.frame_select import SharpFrameSelector
from glasses.sources.jpeg import DEFAULT_MAX_SIDE_PX, encode_jpeg
from glasses.sources.still import wait_for_still_frame

log = logging.getLogger(__name__)


class TextReader(Protocol):
    """An OCR engine (``glasses.perception.ocr.OcrEngine``); its result has ``.text`` and
    ``.lines`` (``TextLine``s in reading order)."""

    def recognize(self, image: npt.NDArray[np.uint8]) -> Any: ...


class CaptureStage(Stage[CaptureRequest]):
    def __init__(
        self,
        inbox: Channel[CaptureRequest],
        send: Send,
        open_camera: Callable[[], ThreadedCamera],
        *,
        still_timeout_s: float,
        idle_close_s: float,
        selector: SharpFrameSelector | None = None,
        look_max_side_px: int = DEFAULT_MAX_SIDE_PX,
        **kwargs: Any,
    ) -> None:
        super().__init__("capture", inbox, send, **kwargs)
        self.open_camera = open_camera
        self.look_max_side_px = look_max_side_px  # a look's JPEG: its longer side at most
        self.still_timeout_s = still_timeout_s
        self.idle_close_s = idle_close_s
        # Given: kept across captures, so back-to-back captures (``glasses read --watch``) get
        # one frame per still period. None: each capture (a button press) starts afresh.
        self.selector = selector
        self.worker = Worker("camera")
        self.camera: ThreadedCamera | None = None
        self._closer: asyncio.TimerHandle | None = None
        self._closing: asyncio.Future[None] | None = None  # kept so the task is not collected

    async def process(self, msg: CaptureRequest) -> AsyncGenerator[Message, None]:
        if self._closer is not None:
            self._closer.cancel()
        try:
            if self.camera is None:
                self.camera = await self.worker.call(self.open_camera)
                yield PeripheralState("camera", True)
            still = await self.worker.call(
                lambda cam: wait_for_still_frame(
                    cam, self.selector, timeout_s=self.still_timeout_s
                ),
                self.camera,
            )
            if still is None:
                raise GlassesError("the camera delivered no frame")
        except GlassesError as exc:  # not there, or gone: say so, reopen at the next capture
            log.warning("camera: %s", exc)
            await self.close()
            yield PeripheralState("camera", False, str(exc))
            if msg.purpose == "look":
                yield StillImage(msg.request_id, b"", error=str(exc), at_s=self.clock())
            else:
                yield OcrText(msg.request_id, "", error=str(exc), at_s=self.clock())
            return
        if msg.purpose == "look":  # encoded here, on the camera's worker, not the loop
            jpeg = await self.worker.call(encode_jpeg, still.frame.image, self.look_max_side_px)
            yield StillImage(
                msg.request_id, jpeg.data, jpeg.width_px, jpeg.height_px, at_s=self.clock()
            )
        else:
            yield CameraFrame(
                msg.request_id, still.frame, still.sharpness, still.chosen, self.clock()
            )
        if self.idle_close_s > 0:
            loop = asyncio.get_running_loop()
            self._closer = loop.call_later(self.idle_close_s, self._close_soon)
        else:
            await self.close()

    def _close_soon(self) -> None:
        self._closing = asyncio.ensure_future(self.close())

    async def close(self) -> None:
        camera, self.camera = self.camera, None
        if camera is not None:
            await self.worker.call(camera.close)

    def close_now(self) -> None:
        """At shutdown (see :meth:`Stage.close_now`): close the camera on a thread of its own,
        without waiting for a capture still running on the worker."""
        camera, self.camera = self.camera, None
        if camera is not None:
            threading.Thread(target=camera.close, name="glasses-camera-close", daemon=True).start()


class OcrStage(Stage[CameraFrame]):
    def __init__(
        self, inbox: Channel[CameraFrame], send: Send, engine: TextReader, **kwargs: Any
    ) -> None:
        super().__init__("ocr", inbox, send, **kwargs)
        self.engine = engine
        self.worker = Worker("ocr")

    async def process(self, msg: CameraFrame) -> AsyncGenerator[Message, None]:
        started = self.clock()
        try:
            result = await self.worker.call(self.engine.recognize, msg.frame.image)
        except Exception as exc:  # a model failure is shown on the glasses, not fatal
            log.exception("OCR failed")
            yield OcrText(
                msg.request_id, "", error=f"{type(exc).__name__}: {exc}", at_s=self.clock()
            )
            return
        self.metrics.observe_ms("ocr.read", (self.clock() - started) * 1000)
        lines = tuple(result.lines)
        yield OcrText(msg.request_id, str(result.text), at_s=self.clock(), lines=lines)
