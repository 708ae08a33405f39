"""Stand-in devices for the demo, the benchmarks and the tests: a microphone fed with samples
pushed by a script, and a camera that keeps looking at one image.

Both behave like the real sources (``AudioSource``, ``FrameReader``), so the daemon runs them
through exactly the same code as a microphone and a camera.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Final

import numpy as np

from glasses.sources.audio import SAMPLE_RATE_HZ, AudioChunk, ClosingSource, FloatArray, SourceStats
from glasses.sources.camera import Image

CHUNK_SAMPLES: Final = 1600  # 0.1 s, like a file source


class PushAudioSource(ClosingSource):
    """16 kHz samples pushed by another thread (:meth:`push`), handed out in 0.1 s chunks.

    ``realtime=False`` hands them out as fast as they are consumed (tests, ``--step-s 0``) and
    waits when there are none; ``realtime=True`` paces chunks to the wall clock and fills the
    time between pushes with silence, like a microphone in a quiet room. Iteration ends when
    the source is closed. :attr:`realtime` may be switched while it runs.
    """

    def __init__(
        self,
        *,
        realtime: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: deque[FloatArray] = deque()
        self._position = 0
        self._closed = False
        self._anchor: tuple[float, int] | None = None  # (time, position) pacing counts from
        self.pushed_samples = 0
        self.realtime = realtime

    @property
    def realtime(self) -> bool:
        return self._anchor is not None

    @realtime.setter
    def realtime(self, on: bool) -> None:
        with self._cond:
            self._anchor = (self._clock(), self._position) if on else None
            self._cond.notify_all()

    @property
    def sample_rate_hz(self) -> int:
        return SAMPLE_RATE_HZ

    def push(self, samples: FloatArray) -> None:
        with self._cond:
            flat = np.asarray(samples, dtype=np.float32).ravel()
            self.pushed_samples += len(flat)
            for start in range(0, len(flat), CHUNK_SAMPLES):
                self._pending.append(flat[start : start + CHUNK_SAMPLES].copy())
            self._cond.notify_all()

    @property
    def delivered_samples(self) -> int:
        """Stream position after the last chunk handed out (silence included)."""
        return self._position

    def pending_samples(self) -> int:
        with self._cond:
            return sum(len(block) for block in self._pending)

    def chunks(self) -> Iterator[AudioChunk]:
        while True:
            with self._cond:
                if self._anchor is not None:  # one chunk per 0.1 s: pushed samples, else silence
                    started, at = self._anchor
                    due = started + (self._position - at + CHUNK_SAMPLES) / SAMPLE_RATE_HZ
                    self._cond.wait_for(lambda: self._closed, max(0.0, due - self._clock()))
                else:
                    self._cond.wait_for(
                        lambda: bool(self._pending) or self._closed or self._anchor is not None
                    )
                    if self._anchor is not None:
                        continue  # switched to real time: pace from now on
                if self._closed:
                    return
                silence = np.zeros(CHUNK_SAMPLES, dtype=np.float32)
                block = self._pending.popleft() if self._pending else silence
            chunk = AudioChunk(block, self._position)
            self._position += len(block)
            yield chunk

    def stats(self) -> SourceStats:
        return SourceStats(delivered_samples=self._position)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class LoopingImageReader:
    """A live camera that sees the same image ``fps`` times a second (a sign held in view)."""

    def __init__(self, image: Image, fps: float = 10.0) -> None:
        self.image = image
        self._fps = fps
        self._stop = threading.Event()

    @property
    def live(self) -> bool:
        return True

    @property
    def fps(self) -> float:
        return self._fps

    def read(self) -> Image | None:
        if self._stop.wait(1.0 / self._fps):
            return None
        return self.image

    def close(self) -> None:
        self._stop.set()
