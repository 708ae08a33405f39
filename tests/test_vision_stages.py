"""The reading stages on their own: a kept selector reads a still scene once, and the OCR stage
reads the newest frame waiting while it is busy (frames behind a keep-newest channel)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from runtime_support import WAIT_S, Outbox

from glasses.perception.ocr import OcrResult
from glasses.perception.text_layout import TextLine
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import CameraFrame, CaptureRequest, Message, OcrText
from glasses.runtime.vision_stages import CaptureStage, OcrStage
from glasses.sources.camera import Frame, ThreadedCamera
from glasses.sources.camera_backends import open_camera
from glasses.sources.frame_select import SharpFrameSelector

pytestmark = pytest.mark.fast


def still_folder(tmp_path: Path, frames: int) -> Path:
    """A "camera" that looks at one sharp pattern without moving."""
    import cv2

    image = np.full((120, 160, 3), 255, dtype=np.uint8)
    image[40:80, 20:140] = 0
    first = tmp_path / "still.png"
    cv2.imwrite(str(first), image)
    folder = tmp_path / "still"
    folder.mkdir()
    for i in range(frames):
        (folder / f"{i:03d}.png").hardlink_to(first)
    return folder


def two_captures(folder: Path, selector: SharpFrameSelector | None) -> list[bool]:
    """Whether each of two back-to-back captures of ``folder`` got a still frame (chosen)."""
    out = Outbox()

    async def main() -> None:
        inbox: Channel[CaptureRequest] = Channel("capture", 1, Overflow.KEEP_NEWEST)

        def camera() -> ThreadedCamera:
            return open_camera(str(folder), fps=100.0)

        stage = CaptureStage(
            inbox, out.send, camera, still_timeout_s=WAIT_S, idle_close_s=WAIT_S, selector=selector
        )
        task = asyncio.ensure_future(stage.run())
        await inbox.put(CaptureRequest(1))
        await out.until(lambda sent: len(captured(sent)) == 1)
        await inbox.put(CaptureRequest(2))
        await out.until(lambda sent: len(captured(sent)) == 2)
        task.cancel()
        await stage.close()
        stage.worker.close()

    asyncio.run(main())
    return [m.chosen for m in captured(out.sent)]


def captured(sent: list[Message]) -> list[CameraFrame]:
    return [m for m in sent if isinstance(m, CameraFrame)]


def test_a_kept_selector_reads_a_still_scene_once(tmp_path: Path) -> None:
    folder = still_folder(tmp_path, 30)
    # Afresh (a button press each): the second capture chooses the same still scene again.
    assert two_captures(folder, None) == [True, True]
    # Kept (read --watch): the head has not moved, so the second capture runs to the end of the
    # file without a choice and nothing is read twice.
    assert two_captures(folder, SharpFrameSelector()) == [True, False]


class GatedEngine:
    """Holds its first read until released, as a slow OCR pass would."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.seen: list[int] = []

    def recognize(self, image: np.ndarray) -> OcrResult:
        self.entered.set()
        self.gate.wait(WAIT_S)
        value = int(image[0, 0, 0])
        self.seen.append(value)
        box = ((0.0, 0.0), (50.0, 0.0), (50.0, 10.0), (0.0, 10.0))
        return OcrResult(((TextLine(f"frame {value}", 0.9, box),),), 4, 4, 1.0, 0.0)


def test_ocr_stage_reads_the_newest_frame_waiting() -> None:
    engine, out = GatedEngine(), Outbox()

    def frame(i: int) -> CameraFrame:
        image = np.full((4, 4, 3), i, dtype=np.uint8)
        return CameraFrame(i, Frame(image, i, time.monotonic()), 100.0, True)

    async def main() -> Channel[CameraFrame]:
        frames: Channel[CameraFrame] = Channel("frames", 1, Overflow.KEEP_NEWEST)
        stage = OcrStage(frames, out.send, engine)
        task = asyncio.ensure_future(stage.run())
        await frames.put(frame(0))
        assert await asyncio.to_thread(engine.entered.wait, WAIT_S)  # frame 0 is being read
        for i in range(1, 6):
            await frames.put(frame(i))
        engine.gate.set()
        await out.until(lambda sent: len(sent) == 2)
        task.cancel()
        stage.worker.close()
        return frames

    frames = asyncio.run(main())
    assert engine.seen == [0, 5]  # frames 1..4 were superseded while 0 was being read
    assert frames.stats().dropped == 4
    texts = [m for m in out.sent if isinstance(m, OcrText)]
    assert [(m.request_id, m.text, [x.text for x in m.lines]) for m in texts] == [
        (0, "frame 0", ["frame 0"]),
        (5, "frame 5", ["frame 5"]),
    ]
