"""A camera frame as JPEG bytes: what a picture is when it travels to a vision-language model.

A still is scaled down (never up) so its longer side is at most ``max_side_px`` before it is
encoded: the model resizes it to its pixel budget anyway (Qwen2-VL: a few hundred thousand
pixels), and a 12 MP frame would cost time to encode and megabytes to send to a remote server.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import numpy as np

from glasses.sources.camera import Image

DEFAULT_MAX_SIDE_PX: Final = 1024
DEFAULT_QUALITY: Final = 85


@dataclass(frozen=True, eq=False)
class Jpeg:
    data: bytes
    width_px: int
    height_px: int


def encode_jpeg(
    image: Image,
    max_side_px: int = DEFAULT_MAX_SIDE_PX,
    quality: int = DEFAULT_QUALITY,
    *,
    bgr: bool = True,
) -> Jpeg:
    """``image`` (H x W x 3 uint8, BGR as cameras give it unless ``bgr`` is False, or
    H x W grey) as a JPEG whose longer side is at most ``max_side_px``."""
    from PIL import Image as PilImage

    if image.dtype != np.uint8 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        raise ValueError(f"expected an H x W x 3 uint8 picture, got {image.dtype} {image.shape}")
    if max_side_px < 1 or not 1 <= quality <= 100:
        raise ValueError("need max_side_px >= 1 and quality in 1..100")
    if image.ndim == 3:
        rgb = image[:, :, 2::-1] if bgr else image[:, :, :3]
        picture = PilImage.fromarray(np.ascontiguousarray(rgb), "RGB")
    else:
        picture = PilImage.fromarray(np.ascontiguousarray(image), "L")
    width, height = picture.size
    scale = max_side_px / max(width, height)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        picture = picture.resize(size, PilImage.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return Jpeg(out.getvalue(), picture.width, picture.height)
