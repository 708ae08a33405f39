"""Waiting for a frame worth reading: the camera loop around the pure frame selector."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from glasses.sources.camera import Frame, ThreadedCamera
from glasses.sources.frame_select import SharpFrameSelector, thumbnail_gray


@dataclass(frozen=True)
class StillFrame:
    frame: Frame
    sharpness: float
    chosen: bool  # False: the timeout (or the end of a file) came first; this is the sharpest seen
    frames_seen: int


def wait_for_still_frame(
    camera: ThreadedCamera,
    selector: SharpFrameSelector | None = None,
    *,
    timeout_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> StillFrame | None:
    """The first frame the selector picks, else the sharpest frame seen; None if no frame came."""
    selector = selector or SharpFrameSelector()
    deadline = clock() + timeout_s
    best: tuple[float, Frame] | None = None
    seen = 0
    last = -1
    while (remaining := deadline - clock()) > 0:
        frame = camera.wait_newer(last, min(remaining, 0.5))
        if frame is None:
            if camera.stats().finished:
                break
            continue
        last = frame.index
        seen += 1
        choice = selector.push(frame.index, thumbnail_gray(frame.image))
        if choice is not None:
            return StillFrame(frame, choice.sharpness, True, seen)
        sharpness = selector.last_score.sharpness if selector.last_score else 0.0
        if best is None or sharpness > best[0]:
            best = (sharpness, frame)
    if best is None:
        return None
    return StillFrame(best[1], best[0], False, seen)
