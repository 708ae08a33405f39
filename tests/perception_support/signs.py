"""Sign and menu images drawn with Pillow in Noto Sans CJK, and camera-like distortions."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def font(size_px: int):  # -> ImageFont.FreeTypeFont
    from PIL import ImageFont

    if not CJK_FONT.exists():
        pytest.skip(f"{CJK_FONT} missing (apt install fonts-noto-cjk)")
    return ImageFont.truetype(str(CJK_FONT), size_px)


def draw(
    rows: Sequence[Sequence[tuple[int, str]]],
    *,
    size: tuple[int, int] = (800, 480),
    font_px: int = 56,
    top: int = 50,
    row_gap: int = 110,
) -> np.ndarray:
    """Rows of ``(x, text)`` items, black on white, as a BGR array."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    pen = ImageDraw.Draw(image)
    face = font(font_px)
    for r, row in enumerate(rows):
        for x, text in row:
            pen.text((x, top + r * row_gap), text, font=face, fill="black")
    return np.asarray(image)[:, :, ::-1].copy()


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Counter-clockwise rotation on a white background, keeping everything in view."""
    from PIL import Image

    pil = Image.fromarray(image[:, :, ::-1].copy())
    out = pil.rotate(degrees, expand=True, fillcolor="white", resample=Image.BICUBIC)
    return np.asarray(out)[:, :, ::-1].copy()


def perspective(image: np.ndarray, squeeze: float = 0.12) -> np.ndarray:
    """Seen from the left: the right edge shrinks vertically, like a sign passed by."""
    import cv2

    h, w = image.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 0], [w, squeeze * h], [w, (1 - squeeze) * h], [0, h]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(image, matrix, (w, h), borderValue=(255, 255, 255))


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(image, (0, 0), sigma)


@functools.lru_cache(maxsize=1)
def ocr_engine():  # -> OcrEngine, shared by every test module in the session
    pytest.importorskip("rapidocr_onnxruntime")
    from glasses.perception.ocr import OcrEngine

    return OcrEngine()
