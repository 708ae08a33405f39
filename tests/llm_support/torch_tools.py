"""The real tools the engine's model folders come from, driven on our random test weights.

* a Hugging Face checkpoint (``config.json`` + ``model.safetensors`` + tokenizer files) written
  from :mod:`tiny_qwen`'s numpy arrays, which ``transformers`` loads as Qwen2ForCausalLM /
  Qwen3ForCausalLM: the independent reference;
* onnxruntime-genai's model builder (``python -m onnxruntime_genai.models.builder``) and
  Optimum's exporter (``optimum-cli export onnx --task text-generation-with-past``) run on that
  checkpoint, as a user would run them on a downloaded one;
* greedy generation by ``transformers`` and by onnxruntime-genai itself.

Everything here needs torch (transformers' models and both converters); the test modules skip
with a reason when it is missing.  Imports are inside the functions so that importing this
module never fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .qwen_tokenizer_json import FIRST_SPECIAL_ID
from .tiny_qwen import (
    ENDOFTEXT_ID,
    TinyQwenConfig,
    Weights,
    generation_config,
    hf_config,
    random_weights,
    tokenizer_config,
)


def exporter_weights(cfg: TinyQwenConfig) -> Weights:
    """:func:`random_weights` with the LM head rows of special and padding ids (151643 up)
    zeroed: they score 0 where text tokens reach ~4 sigma, so no engine stops early on an
    end-of-text token or picks one of the 267 padding ids that the tokenizer cannot decode
    (transformers and genai would, our sampler masks them)."""
    weights = random_weights(cfg)
    head = "model.embed_tokens.weight" if cfg.tie_word_embeddings else "lm_head.weight"
    weights[head][FIRST_SPECIAL_ID:] = 0.0
    return weights


def write_hf_checkpoint(
    folder: Path, cfg: TinyQwenConfig, weights: Weights, tokenizer_json: Path
) -> Path:
    """A checkpoint folder as ``save_pretrained`` writes it (float32 safetensors)."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: np.ascontiguousarray(array) for name, array in weights.items()}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    files = {
        "config.json": hf_config(cfg),
        "generation_config.json": generation_config(cfg),
        "tokenizer_config.json": tokenizer_config(cfg),
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    return folder


def hf_model(checkpoint: Path) -> Any:
    """transformers' own Qwen2ForCausalLM / Qwen3ForCausalLM, float32, eager attention."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        checkpoint, dtype=torch.float32, attn_implementation="eager"
    )
    return model.eval()


def hf_logits(model: Any, ids: Sequence[int]) -> np.ndarray:
    """``[len(ids), vocab]`` logits of one full forward pass (no cache)."""
    import torch

    with torch.no_grad():
        out = model(torch.tensor([list(ids)], dtype=torch.long)).logits[0]
    return np.asarray(out.double().numpy())


def hf_greedy(
    model: Any, ids: Sequence[int], max_new_tokens: int, stop: Sequence[int]
) -> list[int]:
    """``generate(do_sample=False)``; the stop token that ended it, if any, is not returned
    (the engine does not return it either)."""
    import torch

    prompt = torch.tensor([list(ids)], dtype=torch.long)
    with torch.no_grad():
        out = model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=list(stop),
            pad_token_id=ENDOFTEXT_ID,
            repetition_penalty=1.0,  # generation_config.json asks for 1.05
            temperature=None,
            top_k=None,
            top_p=None,
        )
    tokens = [int(t) for t in out[0, len(ids) :]]
    return tokens[:-1] if tokens and tokens[-1] in stop else tokens


def _run_tool(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"{what} failed ({done.returncode}): {' '.join(command)}\n{tail}")


def genai_build_command(
    checkpoint: Path, out: Path, precision: str, cache: Path, extra: Sequence[str] = ()
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "onnxruntime_genai.models.builder",
        "-i",
        str(checkpoint),
        "-o",
        str(out),
        "-p",
        precision,
        "-e",
        "cpu",
        "-c",
        str(cache),
    ]
    return [*command, "--extra_options", *extra] if extra else command


def build_with_genai(
    checkpoint: Path, out: Path, precision: str, cache: Path, extra: Sequence[str] = ()
) -> Path:
    """onnxruntime-genai's model builder, CPU target (``-p fp32|int4``)."""
    _run_tool(genai_build_command(checkpoint, out, precision, cache, extra), "the genai builder")
    return out


def optimum_export_command(checkpoint: Path, out: Path, dtype: str = "fp32") -> list[str]:
    return [
        sys.executable,
        "-m",
        "optimum.commands.optimum_cli",
        "export",
        "onnx",
        "--model",
        str(checkpoint),
        "--task",
        "text-generation-with-past",
        "--dtype",
        dtype,
        str(out),
    ]


def export_with_optimum(checkpoint: Path, out: Path, dtype: str = "fp32") -> Path:
    """Optimum's ONNX exporter (torch.onnx underneath), ``text-generation-with-past``."""
    _run_tool(optimum_export_command(checkpoint, out, dtype), "the Optimum exporter")
    return out


def genai_greedy(model_dir: Path, ids: Sequence[int], max_new_tokens: int) -> list[int]:
    """onnxruntime-genai's own greedy search on its model folder; stops at its eos ids, which
    are not returned."""
    import onnxruntime_genai as og

    model = og.Model(str(model_dir))
    params = og.GeneratorParams(model)
    params.set_search_options(
        do_sample=False, max_length=len(ids) + max_new_tokens, repetition_penalty=1.0
    )
    generator = og.Generator(model, params)
    generator.append_tokens(list(ids))
    tokens: list[int] = []
    while not generator.is_done():
        generator.generate_next_token()
        tokens.append(int(generator.get_next_tokens()[0]))
    config = json.loads((model_dir / "genai_config.json").read_text(encoding="utf-8"))
    eos = config["model"]["eos_token_id"]
    stop = set(eos if isinstance(eos, list) else [eos])
    return tokens[:-1] if tokens and tokens[-1] in stop else tokens
