"""Choosing the frame to read: still and sharp, decided by a pure state machine.

OCR on a worn camera fails mostly on motion blur (the head moves) and focus hunting; both show
as a low variance of the Laplacian (little high-frequency energy).  Motion between consecutive
thumbnails tells a still head from a moving one.  The measures are plain numpy on small grey
thumbnails (a few hundred pixels a side), cheap enough for every frame on a Pi.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

GrayImage = npt.NDArray[np.float32]


def thumbnail_gray(image: npt.NDArray[Any], max_side_px: int = 320) -> GrayImage:
    """Grey float32 image no larger than ``max_side_px``, shrunk by block averaging."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3:  # BGR (OpenCV order) to luma
        array = array[..., :3] @ np.array([0.114, 0.587, 0.299], dtype=np.float32)
    factor = max(1, int(np.ceil(max(array.shape) / max_side_px)))
    if factor > 1:
        h = array.shape[0] // factor * factor
        w = array.shape[1] // factor * factor
        array = array[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    return np.ascontiguousarray(array, dtype=np.float32)


def laplacian_variance(gray: GrayImage) -> float:
    """Variance of the 4-neighbour Laplacian: high for sharp edges, low for blur."""
    if gray.shape[0] < 3 or gray.shape[1] < 3:
        return 0.0
    centre = gray[1:-1, 1:-1]
    lap = gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4.0 * centre
    return float(lap.var())


def motion(previous: GrayImage, current: GrayImage) -> float:
    """Mean absolute difference (grey levels) between two thumbnails of the same size."""
    if previous.shape != current.shape:
        return float("inf")  # a resolution change is as good as a new scene
    return float(np.mean(np.abs(current - previous)))


@dataclass(frozen=True)
class FrameSelectConfig:
    min_sharpness: float = 50.0  # Laplacian variance below this is blur at any scene
    # A frame must be at least this fraction of the sharpest frame of the recent still run, so a
    # textureless wall does not beat text held still a moment later.
    relative_sharpness: float = 0.8
    # Motion is measured on a much smaller thumbnail, where a shift of the scene still shows but
    # a change of focus (blur to sharp) does not: refocusing must not count as moving.
    motion_side_px: int = 64
    max_motion: float = 3.0  # mean grey-level change per pixel of that thumbnail
    still_frames: int = 3  # consecutive low-motion frames before choosing
    history_frames: int = 15
    min_gap_frames: int = 10  # at most one choice per still period ...
    rearm_motion: float = 6.0  # ... until the head moves again by this much


@dataclass(frozen=True)
class FrameScore:
    """One frame's measures; :meth:`SharpFrameSelector.push` returns it for the chosen frame."""

    index: int
    sharpness: float
    motion: float


class SharpFrameSelector:
    """Feed every frame's thumbnail with its index; returns the frame's score when it is chosen.

    A frame is chosen when it ends a run of ``still_frames`` frames (counting the first one
    after movement) that each moved less than ``max_motion``, and it is sharp both absolutely and
    relative to that run.  Then the selector waits for the head to move before choosing again.
    """

    def __init__(self, config: FrameSelectConfig | None = None) -> None:
        self.config = config or FrameSelectConfig()
        self._previous: GrayImage | None = None
        self._still: deque[FrameScore] = deque(maxlen=self.config.history_frames)
        self._last_choice = -(10**9)
        self._armed = True
        self.last_score: FrameScore | None = None  # of the latest frame, chosen or not

    def push(self, index: int, gray: GrayImage) -> FrameScore | None:
        c = self.config
        coarse = thumbnail_gray(gray, c.motion_side_px)
        moved = motion(self._previous, coarse) if self._previous is not None else float("inf")
        self._previous = coarse
        score = FrameScore(index, laplacian_variance(gray), moved)
        self.last_score = score
        if moved > c.rearm_motion:
            self._armed = True
        if moved > c.max_motion:
            self._still.clear()
        self._still.append(score)
        if not self._armed or index - self._last_choice < c.min_gap_frames:
            return None
        if len(self._still) < c.still_frames:
            return None
        best = max(s.sharpness for s in self._still)
        if score.sharpness < c.min_sharpness or score.sharpness < c.relative_sharpness * best:
            return None
        self._last_choice = index
        self._armed = False
        return score
