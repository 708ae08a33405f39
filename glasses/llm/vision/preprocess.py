"""Pictures -> the vision encoder's input, exactly as transformers' ``Qwen2VLImageProcessor``.

Steps (each as the reference does it): decode, convert to RGB (``Image.convert``: alpha is
dropped, not composited); ``smart_resize`` the height and width to multiples of
``patch_size * merge_size`` whose product lies within ``[min_pixels, max_pixels]`` keeping the
aspect ratio; Pillow bicubic resize of the uint8 picture; rescale by 1/255 (in float64, then
float32); normalise with the model's mean and std (float32); repeat the still picture
``temporal_patch_size`` times; cut into ``patch_size`` squares ordered by ``merge_size`` x
``merge_size`` blocks, each flattened channel-major: ``pixel_values`` [h*w, C*T*P*P] and
``grid_thw`` (1, h, w) in patches.

``max_pixels`` is the pixel budget: fewer pixels, fewer image tokens (h*w / merge^2), so a Pi
trades detail for prefill time.  EXIF orientation is not applied (the reference does not).
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from glasses.llm.errors import LlmError
from glasses.models.vlm_folder import ImageSettings

# Pictures larger than this are refused before decoding (a 64 MP photo decodes to 192 MB).
MAX_SOURCE_PIXELS = 64_000_000
MAX_ASPECT_RATIO = 200  # the reference's own limit
# The raw forms a picture may take: a file path, encoded bytes (JPEG, PNG ...), a PIL image or an
# H x W x 3 uint8 RGB array.
ImageSource = Any


class ImageError(LlmError):
    """A picture the model cannot take: undecodable, too small, too large or too elongated."""


@dataclass(frozen=True, eq=False)
class PreparedImage:
    """One picture as the vision encoder takes it."""

    pixel_values: npt.NDArray[np.float32] = field(repr=False)  # [h*w, C*T*P*P]
    grid_thw: tuple[int, int, int]  # in patches: (1, h, w)
    merge_size: int
    digest: bytes = field(repr=False)  # of the pixels: the same picture gets the same tokens

    @property
    def num_tokens(self) -> int:
        """Image tokens in the prompt (one per merge x merge block of patches)."""
        t, h, w = self.grid_thw
        return t * h * w // (self.merge_size**2)

    @property
    def llm_grid(self) -> tuple[int, int, int]:
        t, h, w = self.grid_thw
        return t, h // self.merge_size, w // self.merge_size


def smart_resize(
    height: int, width: int, factor: int, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """The reference's resize target: multiples of ``factor``, area within the bounds."""
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ImageError(
            f"the picture is {width}x{height}: sides more than {MAX_ASPECT_RATIO} times apart "
            "cannot be read by the model; crop it first"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def decode_image(source: ImageSource) -> Any:
    """``source`` as an RGB PIL image; :class:`ImageError` names what was wrong."""
    from PIL import Image as image_mod  # a base dependency; imported when a picture comes

    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim != 3 or source.shape[2] != 3:
            raise ImageError(
                f"a picture array must be H x W x 3 uint8 RGB, got {source.dtype} {source.shape}"
            )
        return image_mod.fromarray(source, "RGB")
    if isinstance(source, image_mod.Image):
        image = source
    else:
        what = "the picture bytes" if isinstance(source, bytes | bytearray) else str(source)
        try:
            data = source if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
            image = image_mod.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_SOURCE_PIXELS:
                raise ImageError(
                    f"{what} is {width}x{height}: more than {MAX_SOURCE_PIXELS:,} pixels; "
                    "scale it down first"
                )
            image.load()
        except ImageError:
            raise
        except FileNotFoundError as exc:
            raise ImageError(f"the picture {what} does not exist") from exc
        except OSError as exc:
            raise ImageError(
                f"{what}: cannot be decoded as a picture (JPEG, PNG, WebP ...): {exc}"
            ) from exc
        except (ValueError, TypeError, image_mod.DecompressionBombError) as exc:
            raise ImageError(f"{what} cannot be read as a picture: {exc}") from exc
    return image if image.mode == "RGB" else image.convert("RGB")


def prepare_image(
    source: ImageSource, settings: ImageSettings, *, max_pixels: int | None = None
) -> PreparedImage:
    """Decode, resize and patch ``source`` (``max_pixels`` overrides the model's budget)."""
    from PIL import Image as image_mod

    image = decode_image(source)
    width, height = image.size
    p, m, t = settings.patch_size, settings.merge_size, settings.temporal_patch_size
    if min(width, height) < p:
        raise ImageError(
            f"the picture is {width}x{height}: a side shorter than one {p}-pixel patch "
            "holds nothing the model can see"
        )
    budget = max_pixels if max_pixels is not None else settings.max_pixels
    rh, rw = smart_resize(height, width, p * m, settings.min_pixels, budget)
    resized = image.resize((rw, rh), resample=image_mod.Resampling.BICUBIC)
    pixels = (np.asarray(resized).astype(np.float64) * settings.rescale_factor).astype(np.float32)
    mean = np.asarray(settings.image_mean, dtype=np.float32)
    std = np.asarray(settings.image_std, dtype=np.float32)
    chw = ((pixels - mean) / std).transpose(2, 0, 1)
    gh, gw = rh // p, rw // p
    frames = np.repeat(chw[None], t, axis=0)  # a still picture fills the temporal patch
    blocks = frames.reshape(1, t, 3, gh // m, m, p, gw // m, m, p)
    patches = np.ascontiguousarray(
        blocks.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).reshape(gh * gw, 3 * t * p * p)
    )
    digest = hashlib.blake2b(patches.tobytes(), digest_size=16).digest()
    return PreparedImage(patches, (1, gh, gw), m, digest + f"{gh}x{gw}".encode())
