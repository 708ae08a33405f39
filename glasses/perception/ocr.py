"""Text recognition with rapidocr-onnxruntime (PP-OCR det + cls + rec; models ship in its wheel).

The engine is created once (loading three ONNX sessions takes a fraction of a second) and
called from one thread at a time: the ``OcrStage`` (of the daemon and of ``glasses read --watch``)
calls it on its own worker thread.  Frames are shrunk to ``max_side_px`` first: detection time
grows with pixel count, and signs read from a worn camera are large in the frame anyway.

Speed: rapidocr's default detection input is "shortest side at least 736 px", which *enlarges* a
640x480 camera frame to 981x736 before the text detector runs (its most expensive step, about
three quarters of the time).  With ``det_limit_type="max"`` the detector gets the frame at its own
size (rapidocr-onnxruntime 1.4 then only shrinks frames whose longest side exceeds 960, 1500 or
2000 px, picked from the frame size; ``det_limit_side_len`` is not used in that mode): at 640x480
that is 0.5x to 0.7x of rapidocr's default time with the same text read.  A 1280x720 frame is
detected at about its own size either way; ``max_side_px`` is the knob there.

Word spaces (issue 11 §2: the demo sign read "西湖游船WestLakeboats"): the recogniser's greedy
decoding drops them on long mixed rows with any detector setting, rapidocr's defaults included;
:mod:`~glasses.perception.ocr_spaces` restores them.  ``det_unclip_ratio`` 2.0 (rapidocr: 1.6)
grows each detected region a little more before it is cropped, which keeps more of them on its
own and costs no measurable time.  Scored with spaces (edit distance to the sign's text, spaces
and row breaks counted), these defaults make no more errors than rapidocr's at 0.5x to 0.7x of
its time on a 640x480 frame.  Numbers: ``scripts/bench_perception.py``, docs/benchmarks.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from glasses.accel import CUDA, TENSORRT, resolve_providers, runs_on
from glasses.errors import GlassesError
from glasses.extras import require
from glasses.perception import ocr_spaces
from glasses.perception.text_layout import Quad, TextLine, group_rows, row_text


@dataclass(frozen=True)
class OcrConfig:
    max_side_px: int = 1280
    min_confidence: float = 0.5
    intra_op_threads: int = 2  # leaves the other cores of a Pi 5 to speech and the display
    use_angle_classifier: bool = True  # catches text upside down (camera held the wrong way)
    # Detector input never enlarged (rapidocr's own default enlarges the shortest side to 736 px,
    # which more than doubles the detector's work on a 640x480 frame); see the module docstring.
    det_limit_type: str = "max"
    # How far each detected text region is grown before it is cropped for recognition.  Wider
    # than rapidocr's 1.6: the crop keeps a margin round the words at the frame's own size, and
    # a mixed row keeps its word spaces ("西湖游船 West Lake boats"); see the module docstring.
    det_unclip_ratio: float = 2.0
    # Word spaces the recogniser scores but CTC blank outscores (:mod:`ocr_spaces`).
    restore_spaces: bool = True
    rec_batch_size: int = 6  # recognition crops per ONNX call (rapidocr's default)
    # ``ocr.providers``: rapidocr runs its three sessions on CUDA when asked and onnxruntime has
    # it (it has no TensorRT option), else on the CPU.
    providers: tuple[str, ...] = ("cpu",)


@dataclass(frozen=True)
class OcrResult:
    """Lines in reading order, grouped in rows; coordinates are in the input image's pixels."""

    rows: tuple[tuple[TextLine, ...], ...]
    width_px: int
    height_px: int
    scale: float  # what the image was resized by before recognition
    elapsed_s: float

    @property
    def lines(self) -> list[TextLine]:
        return [line for row in self.rows for line in row]

    @property
    def text(self) -> str:
        return "\n".join(row_text(row) for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "width": self.width_px,
            "height": self.height_px,
            "lines": [
                {
                    "text": line.text,
                    "confidence": round(line.confidence, 4),
                    "box": [[round(x, 1), round(y, 1)] for x, y in line.box],
                    "row": r,
                }
                for r, row in enumerate(self.rows)
                for line in row
            ],
        }


class OcrEngine:
    """Wraps one ``RapidOCR`` instance."""

    def __init__(self, config: OcrConfig | None = None) -> None:
        self.config = config or OcrConfig()
        rapidocr = require("rapidocr_onnxruntime", "ocr", purpose="reading text")
        self._cv2 = require("cv2", "ocr", purpose="reading text")
        ort = require("onnxruntime", "ocr", purpose="reading text")
        usable = [p for p in ort.get_available_providers() if p != TENSORRT]
        plan = resolve_providers("ocr", self.config.providers, usable)
        cuda = plan.providers[0] == CUDA
        try:
            self._engine = rapidocr.RapidOCR(
                intra_op_num_threads=self.config.intra_op_threads,
                inter_op_num_threads=1,
                text_score=self.config.min_confidence,
                det_limit_type=self.config.det_limit_type,
                det_unclip_ratio=self.config.det_unclip_ratio,
                rec_batch_num=self.config.rec_batch_size,
                det_use_cuda=cuda,
                cls_use_cuda=cuda,
                rec_use_cuda=cuda,
            )
        except Exception as exc:  # missing model files in a broken install, ORT load errors
            raise GlassesError(f"cannot start the OCR engine: {exc}") from exc
        # Word spaces the recogniser scores but blank outscores ("西湖游船WestLakeboats").
        self.spaces_restored = self.config.restore_spaces and ocr_spaces.install(self._engine)
        # The detector's session (three quarters of the time) says what OCR really runs on.
        det = getattr(getattr(self._engine, "text_det", None), "infer", None)
        session = getattr(det, "session", None)
        self.provider = plan.primary if session is None else runs_on("ocr", plan.providers, session)
        """``cuda`` or ``cpu``: what the text detector's session registered."""
        # Seconds of the last call in detection, angle classification and recognition.
        self.last_stage_s: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def recognize(self, image: npt.NDArray[np.uint8]) -> OcrResult:
        """Read a BGR (or grey) image."""
        started = time.perf_counter()
        array = np.asarray(image)
        if array.ndim == 2:
            array = self._cv2.cvtColor(array, self._cv2.COLOR_GRAY2BGR)
        height, width = array.shape[:2]
        scale = min(1.0, self.config.max_side_px / max(height, width, 1))
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            array = self._cv2.resize(array, size, interpolation=self._cv2.INTER_AREA)
        raw, timings = self._engine(array, use_cls=self.config.use_angle_classifier)
        stages = [float(t) for t in (timings or [])] + [0.0, 0.0, 0.0]  # None: no text found
        self.last_stage_s = (stages[0], stages[1], stages[2])
        lines = [
            TextLine(str(text), float(score), _scaled_quad(box, scale))
            for box, text, score in (raw or [])
            if float(score) >= self.config.min_confidence and str(text).strip()
        ]
        rows = tuple(tuple(row) for row in group_rows(lines))
        return OcrResult(rows, width, height, scale, time.perf_counter() - started)


def _scaled_quad(box: Any, scale: float) -> Quad:
    points = [(float(x) / scale, float(y) / scale) for x, y in box]
    return (points[0], points[1], points[2], points[3])
