"""``glasses read --watch`` on the daemon's stages: one read per still period, the newest frame
wins while OCR is busy, a failing read is reported without ending the watch, Ctrl-C ends it
normally, and a missing camera is reported as ``glasses read --camera`` reports it.

Printing each sign once as the camera turns (text and ``--json``) is in test_perception_cli.py.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from perception_support.cli import only_present_commands
from perception_support.signs import draw, ocr_engine

from glasses import cli
from glasses.commands.read_watch import watch
from glasses.perception.ocr import OcrResult
from glasses.perception.text_layout import TextLine
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import CameraFrame, CaptureRequest, Message, OcrText
from glasses.runtime.vision_stages import CaptureStage, OcrStage
from glasses.sources.camera import Frame, ThreadedCamera
from glasses.sources.camera_backends import open_camera
from glasses.sources.frame_select import SharpFrameSelector

pytestmark = pytest.mark.model  # PP-OCR; the two tests of the stages alone are fast

WAIT_S = 30.0  # a bound for a hung test, not a timing assertion


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Message] = []
        self._cond = asyncio.Condition()

    async def send(self, msg: Message) -> None:
        async with self._cond:
            self.sent.append(msg)
            self._cond.notify_all()

    async def until(self, predicate: Callable[[list[Message]], bool]) -> None:
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: predicate(self.sent)), WAIT_S)


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


@pytest.mark.fast
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


@pytest.mark.fast
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


class FailsFirst:
    """The real OCR engine, except that its first read fails (a model error)."""

    def __init__(self) -> None:
        self.engine = ocr_engine()
        self.calls = 0

    def recognize(self, image: np.ndarray) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("ORT failed")
        return self.engine.recognize(image)


def test_watch_goes_on_after_a_failed_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = sign(tmp_path / "a.png", "出口 EXIT")
    second = sign(tmp_path / "b.png", "北站 North Station")
    folder = tmp_path / "walk"
    folder.mkdir()
    for i in range(26):  # one sign for 12 frames (its one read fails), then another
        (folder / f"{i:03d}.png").hardlink_to(first if i < 12 else second)
    args = argparse.Namespace(camera=str(folder), fps=20.0, json=False)
    assert watch(args, FailsFirst()) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["北站 North Station"]
    assert err.splitlines() == ["glasses: OCR failed on some frames: RuntimeError: ORT failed"]


def sign(path: Path, *rows: str) -> Path:
    import cv2

    cv2.imwrite(str(path), draw([[(40, row)] for row in rows], size=(640, 320)))
    return path


def test_watch_ends_normally_on_ctrl_c_with_what_it_read(tmp_path: Path) -> None:
    """A real process: Ctrl-C once the sign is printed ends watching with status 0."""
    first = sign(tmp_path / "sign.png", "西湖 West Lake", "出口 EXIT")
    folder = tmp_path / "long"
    folder.mkdir()
    for i in range(400):  # 200 s at 2 fps: only Ctrl-C ends this run within the test
        (folder / f"{i:03d}.png").hardlink_to(first)
    argv = ["read", "--camera", str(folder), "--watch", "--fps", "2"]
    with (
        (tmp_path / "stderr.txt").open("w+", encoding="utf-8") as errors,
        subprocess.Popen(
            [sys.executable, "-m", "glasses.cli", *argv],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
        ) as proc,
    ):
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the first line is read off the "camera"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=WAIT_S)
        out = line + proc.stdout.read()
        errors.seek(0)
        err = errors.read()
    assert proc.returncode == 0, err
    assert out.splitlines() == ["西湖 West Lake", "出口 EXIT"]
    assert "Traceback" not in err and "no text found" not in err


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_watch_reports_a_missing_camera_as_reading_once_does(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    only_present_commands(monkeypatch)
    code, out, err = run(capsys, "read", "--camera", "7", "--watch")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "glasses: error: no camera 7: /dev/video7 does not exist (see: glasses devices)"
    ]
    code, out, err = run(capsys, "read", "--camera", str(tmp_path / "gone.mp4"), "--watch")
    assert code == 2 and "no camera, image, folder or video at" in err


def test_watch_of_a_blank_folder_says_no_text_found(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import cv2

    only_present_commands(monkeypatch)
    folder = tmp_path / "blank"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((100, 100, 3), 255, dtype=np.uint8))
    code, out, err = run(capsys, "read", "--camera", str(folder), "--watch", "--fps", "20")
    assert code == 0 and out == "" and "no text found" in err
