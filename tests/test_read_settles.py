"""A read whose OCR is far slower than the camera's frame loop still settles, after one read.

The demo's steps wait for the daemon to be idle (``DaemonThread.wait_idle``) while its stand-in
camera (``LoopingImageReader``) keeps delivering frames. Those frames must not reach OCR on
their own: a capture hands OCR its one still, so a slow OCR delays the settle by its own
duration and never keeps the pipeline busy for good. (Issue #10's audit saw the demo's read
step time out under emulation; this is why the fix was a longer step timeout there.)
"""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import CameraFrame, CaptureRequest, Message, OcrText
from glasses.runtime.feeds import LoopingImageReader
from glasses.runtime.vision_stages import CaptureStage, OcrStage
from glasses.sources.camera import ThreadedCamera

pytestmark = pytest.mark.fast

WAIT_S = 30.0  # a bound for a hung test, not a timing assertion
FRAMES_LATER = 20  # frames the camera delivers while the test looks for work they caused


class GatedReader:
    """A stand-in OCR that reads only when the test lets it: slower than any frame loop."""

    def __init__(self) -> None:
        self.reading, self.release = threading.Event(), threading.Event()
        self.calls = 0

    def recognize(self, image: npt.NDArray[np.uint8]) -> Any:
        self.calls += 1
        self.reading.set()
        if not self.release.wait(WAIT_S):
            raise AssertionError("the test never released the read")
        return SimpleNamespace(text="West Lake boats", lines=())


def frames_later(camera: ThreadedCamera, count: int) -> None:
    """Returns once the camera has delivered ``count`` more frames."""
    frame = camera.wait_newer(-1, WAIT_S)
    assert frame is not None, "the camera delivered no frame"
    until = frame.index + count
    while frame.index < until:
        frame = camera.wait_newer(frame.index, WAIT_S)
        assert frame is not None, "the camera stopped delivering frames"


def test_a_slow_read_settles_while_the_camera_keeps_delivering_frames() -> None:
    sign = np.full((120, 200, 3), 230, dtype=np.uint8)
    sign[40:80, 30:170] = 20
    cameras: list[ThreadedCamera] = []

    def open_camera() -> ThreadedCamera:
        cameras.append(ThreadedCamera(LoopingImageReader(sign, 200.0)))
        return cameras[-1]

    reader = GatedReader()
    replies: list[OcrText] = []

    async def main() -> None:
        requests: Channel[CaptureRequest] = Channel("capture", 1, Overflow.KEEP_NEWEST)
        frames: Channel[CameraFrame] = Channel("frames", 1, Overflow.KEEP_NEWEST)
        replied = asyncio.Event()

        async def send(msg: Message) -> None:  # the daemon's routing, for these two stages
            if isinstance(msg, CameraFrame):
                await frames.put(msg)
            elif isinstance(msg, OcrText):
                replies.append(msg)
                replied.set()

        # The camera stays open after the capture (as in the demo), looping all along.
        capture = CaptureStage(
            requests, send, open_camera, still_timeout_s=WAIT_S, idle_close_s=WAIT_S
        )
        ocr = OcrStage(frames, send, reader)
        tasks = [asyncio.ensure_future(stage.run()) for stage in (capture, ocr)]
        try:
            await requests.put(CaptureRequest(1))
            assert await asyncio.to_thread(reader.reading.wait, WAIT_S)
            # OCR is busy with the still; the camera goes on, and none of its frames queue.
            await asyncio.to_thread(frames_later, cameras[0], FRAMES_LATER)
            assert ocr.busy and capture.idle and frames.empty() and requests.empty()
            assert reader.calls == 1
            reader.release.set()
            await asyncio.wait_for(replied.wait(), WAIT_S)
            # Settled once the read is done, and stays so while the camera keeps looping.
            await asyncio.to_thread(frames_later, cameras[0], FRAMES_LATER)
            assert capture.idle and ocr.idle, (capture.busy, ocr.busy)
            assert reader.calls == 1 and len(cameras) == 1
        finally:
            reader.release.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await capture.close()
            capture.worker.close()
            ocr.worker.close()

    asyncio.run(main())
    assert [(r.request_id, r.text, r.error) for r in replies] == [(1, "West Lake boats", "")]
