"""``glasses read --watch`` on the daemon's stages: a failing read is reported without ending the
watch, Ctrl-C ends it normally, an unplugged camera ends it with an error after what was read,
and a missing camera is reported as ``glasses read --camera`` reports it.

Printing each sign once as the camera turns (text and ``--json``) is in test_perception_cli.py,
the stages' own behaviour (one read per still period, newest frame wins) in test_vision_stages.py.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from perception_support.cli import only_present_commands
from perception_support.signs import draw, ocr_engine

from glasses import cli
from glasses.commands import read_watch
from glasses.commands.read_watch import watch
from glasses.errors import GlassesError
from glasses.sources.camera import ThreadedCamera

pytestmark = pytest.mark.model  # PP-OCR

WAIT_S = 30.0  # a bound for a hung test, not a timing assertion


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


class UnpluggedOnceRead:
    """A live camera showing a sign that is unplugged once OCR has started reading it."""

    live = True
    fps = 20.0

    def __init__(self, image: np.ndarray, reading: threading.Event) -> None:
        self.image = image
        self.reading = reading

    def read(self) -> np.ndarray:
        if self.reading.is_set():
            raise OSError("unplugged")
        return self.image

    def close(self) -> None:
        pass


class Signals:
    """The real OCR engine, saying when it starts reading."""

    def __init__(self) -> None:
        self.engine = ocr_engine()
        self.reading = threading.Event()

    def recognize(self, image: np.ndarray) -> Any:
        self.reading.set()
        return self.engine.recognize(image)


def test_an_unplugged_camera_ends_watching_with_an_error_after_what_was_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import cv2

    engine = Signals()
    image = cv2.imread(str(sign(tmp_path / "sign.png", "出口 EXIT")))

    def camera(spec: str, *, fps: float | None = None) -> ThreadedCamera:
        return ThreadedCamera(UnpluggedOnceRead(image, engine.reading), name=f"camera {spec}")

    monkeypatch.setattr(read_watch, "open_camera", camera)
    args = argparse.Namespace(camera="0", fps=None, json=False)
    with pytest.raises(GlassesError) as error:
        watch(args, engine)
    assert str(error.value) == "camera 0: camera 0 stopped delivering frames (OSError: unplugged)"
    assert capsys.readouterr().out.splitlines() == ["出口 EXIT"]
