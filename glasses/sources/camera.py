"""Camera frames, newest first: a reader thread keeps only the latest frame.

OCR takes hundreds of milliseconds; a queue of frames would make the reading lag ever further
behind the head.  So a thread drains the device as fast as it delivers and overwrites one slot;
whoever asks gets the newest frame, and frames nobody took are counted as skipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from glasses.errors import GlassesError

Image = npt.NDArray[np.uint8]  # H x W x 3, BGR (OpenCV's order)


class CameraLostError(GlassesError):
    """The camera stopped delivering frames (unplugged, driver error, pipeline died)."""


@dataclass(frozen=True, eq=False)
class Frame:
    image: Image
    index: int  # 0, 1, 2, ... in capture order; gaps are frames nobody took
    timestamp_s: float  # time.monotonic() at capture


@dataclass(frozen=True)
class CameraStats:
    captured: int
    skipped: int  # overwritten before anyone took them
    lost: str | None
    finished: bool


class FrameReader(Protocol):
    """A backend: ``read`` blocks for the next image, returns None at the end of a file."""

    @property
    def live(self) -> bool: ...  # a device (failure = lost) rather than a file (failure = end)

    @property
    def fps(self) -> float: ...  # nominal rate; files are paced to it to behave like a camera

    def read(self) -> Image | None: ...

    def close(self) -> None: ...


class ThreadedCamera:
    """Runs a :class:`FrameReader` in a daemon thread and keeps its newest frame."""

    def __init__(
        self,
        reader: FrameReader,
        *,
        name: str = "camera",
        max_failures: int = 20,
        pace_files: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._reader = reader
        self._max_failures = max_failures
        self._pace = pace_files and not reader.live and reader.fps > 0
        self._clock = clock
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._taken = -1
        self._captured = 0
        self._skipped = 0
        self._lost: str | None = None
        self._finished = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"glasses-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        started = self._clock()
        while not self._stop.is_set():
            try:
                image = self._reader.read()
            except Exception as exc:  # a backend error ends this camera, not the program
                image, failures = None, self._max_failures
                reason = f"{type(exc).__name__}: {exc}"
            else:
                reason = "no frames"
            if image is None:
                if not self._reader.live:
                    self._set(finished=True)
                    return
                failures += 1
                if failures >= self._max_failures:
                    self._set(lost=f"{self.name} stopped delivering frames ({reason})")
                    return
                self._stop.wait(0.05)
                continue
            failures = 0
            if self._pace:
                due = started + self._captured / self._reader.fps
                self._stop.wait(max(0.0, due - self._clock()))
            with self._cond:
                if self._frame is not None and self._frame.index != self._taken:
                    self._skipped += 1
                self._frame = Frame(image, self._captured, self._clock())
                self._captured += 1
                self._cond.notify_all()

    def _set(self, *, lost: str | None = None, finished: bool = False) -> None:
        with self._cond:
            self._lost = lost
            self._finished = finished or lost is not None
            self._cond.notify_all()

    def latest(self) -> Frame | None:
        """The newest frame (possibly one already returned); raises if the camera was lost."""
        with self._cond:
            if self._frame is None and self._lost:
                raise CameraLostError(self._lost)
            if self._frame is not None:
                self._taken = self._frame.index
            return self._frame

    def wait_newer(self, after_index: int, timeout_s: float) -> Frame | None:
        """The newest frame with index > ``after_index``; None on timeout or end of file."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._frame is None or self._frame.index <= after_index:
                if self._lost:
                    raise CameraLostError(self._lost)
                remaining = deadline - time.monotonic()
                if self._finished or remaining <= 0:
                    return None
                self._cond.wait(remaining)
            self._taken = self._frame.index
            return self._frame

    def stats(self) -> CameraStats:
        with self._cond:
            return CameraStats(self._captured, self._skipped, self._lost, self._finished)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._reader.close()

    def __enter__(self) -> ThreadedCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cv2_module() -> Any:
    from glasses.extras import require

    return require("cv2", "camera", purpose="cameras and images")
