"""The engine's logits against transformers' Qwen2ForCausalLM / Qwen3ForCausalLM.

An independent implementation of the architecture, not ours: the test zoo's fp32 models (both
layouts, both architectures) are loaded by transformers from a checkpoint of the very same
random weights, and every logit the engine produces while generating (the prompt's last
position from chunked prefill, then one per decode step through the KV cache) must be within
``TOLERANCE`` of transformers' full-sequence forward pass at that position.

Measured on x86-64 (AMD EPYC, AVX-512) with onnxruntime 1.32 and torch 2.13: max |delta logit|
2.8e-5 (optimum-qwen2), 3.5e-5 (optimum-qwen3), 3.8e-5 (genai-qwen2), 4.2e-5 (genai-qwen3) for
logits of standard deviation 4 (Qwen2) and 9 (Qwen3), |logit| up to 47: float32 rounding.  The
tolerance leaves ~25x headroom for other CPUs' kernels while still catching any real error (a
wrong rotary position, a mask off by one, an overwritten KV slot), which moves logits by units.

Needs torch and transformers (CI installs them, see docs/benchmarks.md); skipped otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs torch (pip install torch==2.13.0): see the module doc")
pytest.importorskip("transformers", reason="needs transformers: see the module doc")
pytest.importorskip("safetensors", reason="needs safetensors (comes with transformers)")

from llm_support import torch_tools

from glasses.llm import ChatMessage, EngineConfig, GenerationOptions, LlmEngine, SamplingConfig

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel

pytestmark = pytest.mark.torch

TOLERANCE = 1e-3
FP32_KEYS = ("optimum-qwen2-fp32", "optimum-qwen3-fp32", "genai-qwen2-fp32", "genai-qwen3-fp32")
CHAT = [
    ChatMessage("system", "You are a helpful assistant on smart glasses."),
    ChatMessage("user", "Read the menu on the wall, please. 菜单上写的是什么？"),
]


def engine_logits(engine: LlmEngine, prompt: list[int], tokens: list[int]) -> np.ndarray:
    """Logits for the positions ``len(prompt) - 1 ...`` as the engine computes them while
    generating: the prompt in prefill chunks, then ``tokens`` one step at a time."""
    runner = engine._runner
    kv = runner.new_cache(engine.info.context_tokens)
    run_options = runner.new_run_options()
    chunk = engine.config.prefill_chunk_tokens
    rows = []
    for start in range(0, len(prompt), chunk):
        rows = [runner.forward(prompt[start : start + chunk], kv, run_options)]
    for token in tokens[:-1]:
        rows.append(runner.forward([token], kv, run_options))
    assert all(row is not None for row in rows)
    return np.stack([np.asarray(row, dtype=np.float64) for row in rows])


@pytest.mark.parametrize("key", FP32_KEYS)
def test_logits_match_transformers(
    llm_zoo: dict[str, BuiltModel], tmp_path: Path, key: str
) -> None:
    built = llm_zoo[key]
    checkpoint = torch_tools.write_hf_checkpoint(
        tmp_path / "hf", built.cfg, built.weights, built.path / "tokenizer.json"
    )
    reference = torch_tools.hf_model(checkpoint)
    # Small prefill chunks, so the prompt crosses chunk boundaries (and the KV cache) too.
    engine = LlmEngine.load(
        built.path, EngineConfig(variant=built.variant, prefill_chunk_tokens=16)
    )
    prompt = list(engine.render(CHAT).ids)
    result = engine.generate(
        CHAT, GenerationOptions(max_new_tokens=16, sampling=SamplingConfig(greedy=True))
    )
    assert len(result.token_ids) == 16 and len(prompt) > 16

    ours = engine_logits(engine, prompt, result.token_ids)
    theirs = torch_tools.hf_logits(reference, prompt + result.token_ids)[len(prompt) - 1 : -1]
    delta = np.abs(ours - theirs[:, : ours.shape[1]])
    assert theirs.std() > 1.0, "degenerate model: logits nearly constant"
    assert delta.max() <= TOLERANCE, f"max |delta logit| {delta.max():.2e} at {delta.argmax()}"
    # And the generated tokens are transformers' own greedy choice.
    assert result.token_ids == [int(np.argmax(row[:151669])) for row in theirs]
