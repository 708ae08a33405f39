"""Text recognition with rapidocr-onnxruntime (PP-OCR det + cls + rec; models ship in its wheel).

The engine is created once (loading three ONNX sessions takes a fraction of a second) and
called from one thread at a time: :class:`~glasses.perception.ocr_worker.OcrWorker` owns it in
the live pipeline.  Frames are shrunk to ``max_side_px`` first: detection time grows with pixel
count, and signs read from a worn camera are large in the frame anyway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from glasses.errors import GlassesError
from glasses.extras import require
from glasses.perception.text_layout import Quad, TextLine, group_rows, row_text


@dataclass(frozen=True)
class OcrConfig:
    max_side_px: int = 1280
    min_confidence: float = 0.5
    intra_op_threads: int = 2  # leaves the other cores of a Pi 5 to speech and the display
    use_angle_classifier: bool = True  # catches text upside down (camera held the wrong way)


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
        try:
            self._engine = rapidocr.RapidOCR(
                intra_op_num_threads=self.config.intra_op_threads,
                inter_op_num_threads=1,
                text_score=self.config.min_confidence,
            )
        except Exception as exc:  # missing model files in a broken install, ORT load errors
            raise GlassesError(f"cannot start the OCR engine: {exc}") from exc

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
        raw, _timings = self._engine(array, use_cls=self.config.use_angle_classifier)
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
