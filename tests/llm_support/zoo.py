"""All test models of one pytest session: 2 architectures x 2 layouts x fp32/int4."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .qwen_tokenizer_json import build_tokenizer_json
from .tiny_qwen import qwen2_config, qwen3_config

if TYPE_CHECKING:
    from .folders import BuiltModel

MODEL_KEYS = tuple(
    f"{layout}-{arch}-{precision}"
    for layout in ("optimum", "genai")
    for arch in ("qwen2", "qwen3")
    for precision in ("fp32", "int4")
)


def build_zoo(root: Path) -> dict[str, BuiltModel]:
    from .folders import build_genai_folder, build_optimum_folder  # needs onnx

    # The quantizer logs every node at INFO; keep test output readable.
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    tokenizer_json = build_tokenizer_json(root / "tokenizer" / "tokenizer.json")
    zoo: dict[str, BuiltModel] = {}
    for cfg in (qwen2_config(), qwen3_config()):
        arch = cfg.model_type
        fp32, int4 = build_optimum_folder(root / f"optimum-{arch}", cfg, tokenizer_json)
        zoo[f"optimum-{arch}-fp32"], zoo[f"optimum-{arch}-int4"] = fp32, int4
        for precision in ("fp32", "int4"):
            zoo[f"genai-{arch}-{precision}"] = build_genai_folder(
                root / f"genai-{arch}-{precision}", cfg, tokenizer_json, int4=precision == "int4"
            )
    assert tuple(sorted(zoo)) == tuple(sorted(MODEL_KEYS))
    return zoo
