"""Model folders made by the real tools, not by our test builders: the engine loads them and
generates exactly what the tools' own runtimes generate.

From one random Hugging Face checkpoint per architecture (Qwen2 with q/k/v biases, Qwen3 with
q/k norms, tied embeddings and a head size that is not hidden/heads), written from
:mod:`llm_support.tiny_qwen`'s weights (large enough that greedy decoding depends on the whole
context instead of echoing the last token):

* onnxruntime-genai's model builder, fp32 and int4 (``-e cpu``): the engine's greedy tokens
  equal onnxruntime-genai's own greedy generation on the same folder, and (fp32) transformers'
  ``generate(do_sample=False)``;
* the builder's ``prune_lm_head`` option (a graph already scoring the last position only):
  the engine does not rewrite it again and still matches genai;
* Optimum's exporter (``text-generation-with-past``), fp32: the engine equals transformers'
  ``generate``; fp16 (float16 inputs, KV cache and logits): each token is transformers' argmax
  unless the top two are closer than float16 can tell apart.

Needs torch, transformers, optimum-onnx and onnxruntime-genai (see docs/benchmarks.md for the
CI install); each part skips with a reason when its tool is missing.  The builder outputs fp16
and bf16 for ``-e cpu`` too but calls those combinations unsupported, and genai itself cannot run
them, so they are not tested.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs torch (pip install torch==2.13.0): see the module doc")
pytest.importorskip("transformers", reason="needs transformers: see the module doc")
pytest.importorskip("safetensors", reason="needs safetensors (comes with transformers)")

from llm_support import torch_tools
from llm_support.tiny_qwen import TinyQwenConfig, qwen2_config, qwen3_config

from glasses.llm import ChatMessage, EngineConfig, GenerationOptions, LlmEngine, SamplingConfig

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel

pytestmark = pytest.mark.torch

NEW_TOKENS = 16
CHAT = [
    ChatMessage("system", "You are a helpful assistant on smart glasses."),
    ChatMessage("user", "What does the sign say? 这个标志写的是什么？"),
]
CONFIGS = {"qwen2": qwen2_config(seed=21), "qwen3": qwen3_config(seed=31)}
FP16_TIE_GAP = 0.1  # float16 logits of magnitude ~20 are good to ~0.01-0.02

Folders = Callable[[str, str], Path]


def needs(module: str) -> None:
    pytest.importorskip(module, reason=f"needs {module}: see the module doc")


@pytest.fixture(scope="module")
def checkpoints(
    llm_zoo: dict[str, BuiltModel], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    tokenizer = llm_zoo["genai-qwen3-fp32"].path / "tokenizer.json"
    root = tmp_path_factory.mktemp("hf-checkpoints")
    return {
        arch: torch_tools.write_hf_checkpoint(
            root / arch, cfg, torch_tools.exporter_weights(cfg), tokenizer
        )
        for arch, cfg in CONFIGS.items()
    }


@pytest.fixture(scope="module")
def converted(checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Folders:
    """``converted("genai-int4", "qwen3")``: the tool's output folder, made once per module."""
    root = tmp_path_factory.mktemp("converted")
    made: dict[tuple[str, str], Path] = {}

    def get(kind: str, arch: str) -> Path:
        if (kind, arch) not in made:
            out, checkpoint = root / f"{kind}-{arch}", checkpoints[arch]
            tool, _, variant = kind.partition("-")
            if tool == "genai":
                needs("onnxruntime_genai.models.builder")
                precision, _, option = variant.partition("-")
                extra = ["prune_lm_head=true"] if option == "prune" else []
                torch_tools.build_with_genai(checkpoint, out, precision, root / "cache", extra)
            else:
                needs("optimum.exporters.onnx")
                torch_tools.export_with_optimum(checkpoint, out, variant)
            made[kind, arch] = out
        return made[kind, arch]

    return get


@pytest.fixture(scope="module")
def reference() -> Callable[[str, Path], object]:
    models: dict[str, object] = {}

    def get(arch: str, checkpoint: Path) -> object:
        if arch not in models:
            models[arch] = torch_tools.hf_model(checkpoint)
        return models[arch]

    return get


def engine_greedy(folder: Path) -> tuple[LlmEngine, list[int], list[int]]:
    engine = LlmEngine.load(folder, EngineConfig(prefill_chunk_tokens=16))
    prompt = list(engine.render(CHAT).ids)
    result = engine.generate(
        CHAT, GenerationOptions(max_new_tokens=NEW_TOKENS, sampling=SamplingConfig(greedy=True))
    )
    assert result.finish_reason == "max_new_tokens", result.finish_reason
    return engine, prompt, result.token_ids


def not_an_echo(cfg: TinyQwenConfig, prompt: list[int], tokens: list[int]) -> None:
    assert len(set(tokens)) > NEW_TOKENS // 2, f"{cfg.model_type}: degenerate output {tokens}"
    assert tokens[0] != prompt[-1]


@pytest.mark.parametrize("arch", sorted(CONFIGS))
@pytest.mark.parametrize("precision", ["fp32", "int4"])
def test_genai_builder_output_matches_genai_and_transformers(
    converted: Folders,
    checkpoints: dict[str, Path],
    reference: Callable[[str, Path], object],
    arch: str,
    precision: str,
) -> None:
    folder = converted(f"genai-{precision}", arch)
    engine, prompt, ours = engine_greedy(folder)
    assert engine.info.layout == "genai" and engine.info.last_position_logits
    assert engine.info.quantized == (precision == "int4")
    not_an_echo(CONFIGS[arch], prompt, ours)
    assert ours == torch_tools.genai_greedy(folder, prompt, NEW_TOKENS)
    if precision == "fp32":
        model = reference(arch, checkpoints[arch])
        assert ours == torch_tools.hf_greedy(
            model, prompt, NEW_TOKENS, sorted(engine.stop_token_ids)
        )


@pytest.mark.parametrize("arch", sorted(CONFIGS))
def test_builder_pruned_lm_head_is_used_as_is(converted: Folders, arch: str) -> None:
    folder = converted("genai-int4-prune", arch)
    engine, prompt, ours = engine_greedy(folder)
    assert engine.info.last_position_logits
    assert ours == torch_tools.genai_greedy(folder, prompt, NEW_TOKENS)
    # Same weights as the unpruned build: the same tokens.
    assert ours == engine_greedy(converted("genai-int4", arch))[2]


@pytest.mark.parametrize("arch", sorted(CONFIGS))
def test_optimum_export_matches_transformers(
    converted: Folders,
    checkpoints: dict[str, Path],
    reference: Callable[[str, Path], object],
    arch: str,
) -> None:
    folder = converted("optimum-fp32", arch)
    engine, prompt, ours = engine_greedy(folder)
    assert engine.info.layout == "optimum" and engine.info.last_position_logits
    not_an_echo(CONFIGS[arch], prompt, ours)
    model = reference(arch, checkpoints[arch])
    assert ours == torch_tools.hf_greedy(model, prompt, NEW_TOKENS, sorted(engine.stop_token_ids))


def test_optimum_fp16_export_runs_with_float16_io(
    converted: Folders, checkpoints: dict[str, Path], reference: Callable[[str, Path], object]
) -> None:
    arch = "qwen3"
    folder = converted("optimum-fp16", arch)
    engine, prompt, ours = engine_greedy(folder)
    assert engine._runner.io.kv_dtype == np.float16
    assert engine._runner.io.logits_dtype == np.float16
    logits = torch_tools.hf_logits(reference(arch, checkpoints[arch]), prompt + ours)
    for step, token in enumerate(ours):
        scores = logits[len(prompt) - 1 + step][:151669]
        best = int(np.argmax(scores))
        assert token == best or scores[best] - scores[token] < FP16_TIE_GAP, (step, token, best)
