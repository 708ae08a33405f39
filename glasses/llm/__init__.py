"""Local LLM engine on plain ONNX Runtime (Qwen2 / Qwen3, Optimum or onnxruntime-genai layout).

Importing this package is cheap: onnxruntime and tokenizers are imported when a model loads,
and their absence raises an error naming the ``llm`` extra.
"""

from __future__ import annotations

from glasses.llm.chat_template import ChatMessage, ChatPrompt
from glasses.llm.config import EngineConfig, SessionConfig
from glasses.llm.engine import LlmEngine, ModelInfo, TextStream
from glasses.llm.errors import (
    ContextOverflowError,
    CorruptModelError,
    LlmError,
    ModelFileError,
    TokenizerMismatchError,
    UnsupportedModelError,
)
from glasses.llm.generator import (
    CancelToken,
    FinishReason,
    GenerationOptions,
    GenerationResult,
    Timings,
)
from glasses.llm.sampling import SamplingConfig

__all__ = [
    "CancelToken",
    "ChatMessage",
    "ChatPrompt",
    "ContextOverflowError",
    "CorruptModelError",
    "EngineConfig",
    "FinishReason",
    "GenerationOptions",
    "GenerationResult",
    "LlmEngine",
    "LlmError",
    "ModelFileError",
    "ModelInfo",
    "SamplingConfig",
    "SessionConfig",
    "TextStream",
    "Timings",
    "TokenizerMismatchError",
    "UnsupportedModelError",
]
