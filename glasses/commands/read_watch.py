"""``glasses read --camera N --watch``: the daemon's capture and OCR stages, driven back to back.

Capture requests go to the ``CaptureStage`` (one still, sharp frame each), its frames through a
keep-newest ``frames`` channel to the ``OcrStage`` (a frame still waiting when a newer one comes
is never read), exactly as in the daemon. What is read goes through a ``TextDeduplicator``, so
each line is printed the first time it is seen and not again while it stays in view.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from glasses.errors import GlassesError
from glasses.perception.text_dedup import TextDeduplicator
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import CameraFrame, CaptureRequest, Message, OcrText, PeripheralState
from glasses.pipeline.stage import Stage
from glasses.runtime.vision_stages import CaptureStage, OcrStage, TextReader
from glasses.sources.camera import ThreadedCamera
from glasses.sources.camera_backends import open_camera
from glasses.sources.frame_select import SharpFrameSelector

# Captures follow each other back to back, so the capture stage never idles this long; the
# camera is closed when watching ends.
WATCH_IDLE_CLOSE_S = 3600.0
# How long one capture waits for a still frame; then the next capture goes on with the same
# selector (so this is no limit on watching, only how often the request loop comes round).
WATCH_CAPTURE_S = 5.0
DRAIN_TIMEOUT_S = 30.0  # at the end or Ctrl-C: how long the frame being read may still take


def watch(args: argparse.Namespace, engine: TextReader) -> int:
    """The daemon's capture and OCR stages, driven back to back; new lines are printed."""
    state = _Watch(args, engine)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends watching normally
        asyncio.run(state.run())
    if state.error is not None:
        raise state.error
    if state.ocr_error:
        print(f"glasses: OCR failed on some frames: {state.ocr_error}", file=sys.stderr)
    if state.printed == 0 and not args.json:
        print("glasses: no text found", file=sys.stderr)
    return 0


class _Watch:
    """Capture requests -> ``CaptureStage`` (one still, sharp frame each) -> ``frames`` channel
    (newest wins) -> ``OcrStage``; each read goes through a ``TextDeduplicator``.

    The selector is kept across captures, so a frame is read once per still period, not every
    few frames while the head stays still.
    """

    def __init__(self, args: argparse.Namespace, engine: TextReader) -> None:
        self.args = args
        self.engine = engine
        self.dedup = TextDeduplicator()
        self.camera: ThreadedCamera | None = None  # the one opened last; None if opening failed
        self.capturing = True
        self.ended = False  # a file played out
        self.interrupted = False  # Ctrl-C
        self.error: BaseException | None = None  # raised once the frame being read is printed
        self.ocr_error = ""
        self.printed = 0
        self.read_frames = 0  # frames the OCR stage answered
        self.frame_of: dict[int, int] = {}  # capture request id -> frame index, until read
        self.requests = 0
        self.changed = asyncio.Event()
        self.captures: Channel[CaptureRequest] = Channel("capture", 1, Overflow.KEEP_NEWEST)
        self.frames: Channel[CameraFrame] = Channel("frames", 1, Overflow.KEEP_NEWEST)

    async def run(self) -> None:
        capture = CaptureStage(
            self.captures,
            self.route,
            self.open_camera,
            still_timeout_s=WATCH_CAPTURE_S,
            idle_close_s=WATCH_IDLE_CLOSE_S,
            selector=SharpFrameSelector(),
        )
        ocr = OcrStage(self.frames, self.route, self.engine)
        tasks = [asyncio.create_task(self.guard(stage)) for stage in (capture, ocr)]
        loop = asyncio.get_running_loop()
        on_main = threading.current_thread() is threading.main_thread()
        if on_main:  # Ctrl-C: stop capturing, print what the frame being read has
            loop.add_signal_handler(signal.SIGINT, self.interrupt)
        try:
            self.request()
            await self.until(lambda: self.interrupted or self.ended or self.error is not None)
            self.capturing = False
            if on_main:  # a second Ctrl-C does not wait for the frame being read
                loop.remove_signal_handler(signal.SIGINT)
            drained = lambda: self.unread() == 0 or tasks[1].done()  # noqa: E731
            with contextlib.suppress(asyncio.TimeoutError):  # the same as TimeoutError from 3.11
                await asyncio.wait_for(self.until(drained), DRAIN_TIMEOUT_S)
        finally:
            waiting_on_camera = capture.busy
            for task in tasks:
                task.cancel()
            if waiting_on_camera:  # still waiting on the camera: do not wait for it
                capture.close_now()
            else:
                await capture.close()
            capture.worker.close()
            ocr.worker.close()

    def interrupt(self) -> None:
        self.interrupted = True
        self.changed.set()

    def open_camera(self) -> ThreadedCamera:
        self.camera = None
        self.camera = open_camera(self.args.camera, fps=self.args.fps)
        return self.camera

    def request(self) -> None:
        self.requests += 1
        self.captures.put_nowait(CaptureRequest(self.requests))

    def unread(self) -> int:
        stats = self.frames.stats()
        return stats.sent - stats.dropped - self.read_frames

    async def until(self, done: Callable[[], bool]) -> None:
        while not done():
            await self.changed.wait()
            self.changed.clear()

    async def guard(self, stage: Stage[Any]) -> None:
        try:
            await stage.run()
        except Exception as exc:  # a bug or a missing extra: end watching, raise it afterwards
            self.error = self.error or exc
            self.changed.set()

    async def route(self, msg: Message) -> None:
        """Where the stages' messages go (the daemon's ``route``, for this one reader)."""
        self.changed.set()
        if isinstance(msg, CameraFrame):
            if not self.capturing:
                return
            if msg.chosen:  # else the capture timed out or the file ended: nothing still to read
                self.frame_of[msg.request_id] = msg.frame.index
                await self.frames.put(msg)
            assert self.camera is not None
            if self.camera.stats().finished:
                self.ended = True
            else:
                self.request()
        elif isinstance(msg, PeripheralState) and not msg.up and self.capturing:
            self.camera_down(msg.detail)
        elif isinstance(msg, OcrText) and msg.request_id in self.frame_of:
            self.show(msg)

    def camera_down(self, detail: str) -> None:
        stats = self.camera.stats() if self.camera is not None else None
        if stats is None:  # it did not open: the same error as reading once
            self.error = GlassesError(detail)
        elif stats.lost:
            self.error = GlassesError(f"camera {self.args.camera}: {stats.lost}")
        elif stats.finished:  # a file with no frame left
            self.ended = True
        else:  # no frame for a while: the stage reopens the camera at the next capture
            self.request()

    def show(self, msg: OcrText) -> None:
        frame = self.frame_of.pop(msg.request_id)
        for older in [r for r in self.frame_of if r < msg.request_id]:
            del self.frame_of[older]  # dropped for a newer frame: never read
        self.read_frames += 1
        if msg.error:
            self.ocr_error = msg.error
            return
        lines = self.dedup.filter(frame, msg.lines)
        if not lines:
            return
        self.printed += len(lines)
        if self.args.json:
            rows = [{"text": x.text, "confidence": round(x.confidence, 4)} for x in lines]
            print(json.dumps({"frame": frame, "lines": rows}, ensure_ascii=False))
        else:
            print("\n".join(line.text for line in lines))
        sys.stdout.flush()
