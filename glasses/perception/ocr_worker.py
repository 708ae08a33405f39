"""OCR off the caller's thread: one slot for the next frame, newest frame wins.

Submitting never blocks (the camera loop and the display must not wait on a 300 ms recognition);
a frame still waiting when a newer one arrives is replaced and counted.  Results go to a bounded
queue (oldest dropped) and, optionally, to a callback run on the worker thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from glasses.perception.ocr import OcrEngine, OcrResult
from glasses.perception.text_dedup import TextDeduplicator
from glasses.perception.text_layout import TextLine
from glasses.sources.camera import Frame


@dataclass(frozen=True)
class OcrUpdate:
    frame_index: int
    timestamp_s: float
    result: OcrResult
    new_lines: tuple[TextLine, ...]  # lines not read in recent frames (all lines without dedup)


@dataclass(frozen=True)
class OcrWorkerStats:
    submitted: int
    replaced: int  # frames superseded before the worker got to them
    processed: int
    failed: int


class OcrWorker:
    def __init__(
        self,
        engine: OcrEngine,
        *,
        dedup: TextDeduplicator | None = None,
        on_update: Callable[[OcrUpdate], None] | None = None,
        max_results: int = 8,
    ) -> None:
        self._engine = engine
        self._dedup = dedup
        self._on_update = on_update
        self._results: queue.Queue[OcrUpdate] = queue.Queue(maxsize=max_results)
        self._cond = threading.Condition()
        self._pending: Frame | None = None
        self._busy = False
        self._closed = False
        self._submitted = self._replaced = self._processed = self._failed = 0
        self.last_error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="glasses-ocr", daemon=True)
        self._thread.start()

    def submit(self, frame: Frame) -> None:
        with self._cond:
            if self._pending is not None:
                self._replaced += 1
            self._pending = frame
            self._submitted += 1
            self._cond.notify()

    def get(self, timeout_s: float | None = None) -> OcrUpdate | None:
        try:
            return self._results.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def wait_idle(self, timeout_s: float) -> bool:
        """True once nothing is pending or running (for tests and one-shot use)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout_s)

    def stats(self) -> OcrWorkerStats:
        with self._cond:
            return OcrWorkerStats(self._submitted, self._replaced, self._processed, self._failed)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=10.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    return
                frame, self._pending, self._busy = self._pending, None, True
            assert frame is not None
            try:
                result = self._engine.recognize(frame.image)
            except Exception as exc:  # keep the worker alive; the error is kept for reporting
                self.last_error = exc
                with self._cond:
                    self._failed += 1
                    self._busy = False
                    self._cond.notify_all()
                continue
            lines = result.lines
            fresh = self._dedup.filter(frame.index, lines) if self._dedup else lines
            update = OcrUpdate(frame.index, frame.timestamp_s, result, tuple(fresh))
            self._publish(update)
            with self._cond:
                self._processed += 1
                self._busy = False
                self._cond.notify_all()

    def _publish(self, update: OcrUpdate) -> None:
        while True:
            try:
                self._results.put_nowait(update)
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._results.get_nowait()  # drop the oldest: the newest matters
        if self._on_update is not None:
            self._on_update(update)
