"""Vision-language models (Qwen2-VL, onnx-community's three-graph ONNX layout) on the text
engine: pictures in, text out.

    engine = VisionLlmEngine.load("~/models/qwen2-vl-2b-instruct-int4",
                                  EngineConfig(variant="q4"), VisionConfig(max_pixels=448 * 448))
    for delta in engine.stream([ChatMessage("user", "What does the sign say?",
                                            images=(jpeg_bytes,))]):
        print(delta, end="")

:func:`load_engine` opens any model folder with the engine that fits it.
"""

from __future__ import annotations

from pathlib import Path

from glasses.llm.config import EngineConfig
from glasses.llm.engine import LlmEngine
from glasses.llm.vision.engine import VisionConfig, VisionLlmEngine
from glasses.llm.vision.preprocess import ImageError, PreparedImage, prepare_image
from glasses.models.vlm_folder import is_vision_folder


def load_engine(
    model_dir: Path | str, config: EngineConfig | None = None, vision: VisionConfig | None = None
) -> LlmEngine:
    """A :class:`VisionLlmEngine` for a vision-language folder, else an :class:`LlmEngine`."""
    if is_vision_folder(Path(model_dir).expanduser()):
        return VisionLlmEngine.load(model_dir, config, vision)
    return LlmEngine.load(model_dir, config)


__all__ = [
    "ImageError",
    "PreparedImage",
    "VisionConfig",
    "VisionLlmEngine",
    "load_engine",
    "prepare_image",
]
