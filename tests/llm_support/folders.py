"""Write complete model folders in the two real layouts.

* Optimum / onnx-community: ``config.json``, ``generation_config.json``, ``tokenizer.json``,
  ``tokenizer_config.json``, ``onnx/model.onnx`` (+ ``model.onnx_data``) and ``onnx/model_q4.onnx``.
* onnxruntime-genai: ``genai_config.json``, tokenizer files and ``model.onnx``
  (+ ``model.onnx.data``); one folder per precision, as the builder writes them.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from .genai_export import build_genai_model
from .optimum_export import build_optimum_model
from .quantize import BLOCK_SIZE, dequantized_weights, quantize_int4
from .tiny_qwen import (
    ENDOFTEXT_ID,
    IM_END_ID,
    TinyQwenConfig,
    Weights,
    generation_config,
    hf_config,
    random_weights,
    tokenizer_config,
)


@dataclass(frozen=True)
class BuiltModel:
    """A model folder plus what the reference needs to reproduce it."""

    path: Path
    cfg: TinyQwenConfig
    weights: Weights  # the weights the ONNX graph computes with (dequantised for int4)
    variant: str | None = None  # Optimum file variant ("q4" -> onnx/model_q4.onnx)
    act_block: int | None = None  # int8 activation blocks of accuracy-level-4 MatMulNBits


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _save(model: onnx.ModelProto, path: Path, external_data: str | None) -> None:
    if external_data is None:
        onnx.save_model(model, str(path))
    else:
        onnx.save_model(
            model,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=external_data,
            size_threshold=1024,
        )


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


def write_tokenizer_files(folder: Path, cfg: TinyQwenConfig, tokenizer_json: Path) -> None:
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    _write_json(folder / "tokenizer_config.json", tokenizer_config(cfg))


def genai_config(cfg: TinyQwenConfig, filename: str = "model.onnx") -> dict[str, Any]:
    """``genai_config.json`` with the fields the builder writes for a CPU GQA model."""
    return {
        "model": {
            "bos_token_id": ENDOFTEXT_ID,
            "context_length": cfg.max_position_embeddings,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
                "filename": filename,
                "head_size": cfg.head_dim,
                "hidden_size": cfg.hidden_size,
                "inputs": {
                    "input_ids": "input_ids",
                    "attention_mask": "attention_mask",
                    "past_key_names": "past_key_values.%d.key",
                    "past_value_names": "past_key_values.%d.value",
                },
                "outputs": {
                    "logits": "logits",
                    "present_key_names": "present.%d.key",
                    "present_value_names": "present.%d.value",
                },
                "num_attention_heads": cfg.num_attention_heads,
                "num_hidden_layers": cfg.num_hidden_layers,
                "num_key_value_heads": cfg.num_key_value_heads,
            },
            "eos_token_id": [IM_END_ID, ENDOFTEXT_ID],
            "pad_token_id": ENDOFTEXT_ID,
            "type": cfg.model_type,
            "vocab_size": cfg.vocab_size,
        },
        "search": {
            "diversity_penalty": 0.0,
            "do_sample": True,
            "early_stopping": True,
            "length_penalty": 1.0,
            "max_length": cfg.max_position_embeddings,
            "min_length": 0,
            "no_repeat_ngram_size": 0,
            "num_beams": 1,
            "num_return_sequences": 1,
            "past_present_share_buffer": True,
            "repetition_penalty": 1.05,
            "temperature": 0.7,
            "top_k": 20,
            "top_p": 0.8,
        },
    }


def build_optimum_folder(
    folder: Path, cfg: TinyQwenConfig, tokenizer_json: Path
) -> tuple[BuiltModel, BuiltModel]:
    """Returns the fp32 (external data) and q4 variants of one folder."""
    weights = random_weights(cfg)
    (folder / "onnx").mkdir(parents=True, exist_ok=True)
    _write_json(folder / "config.json", hf_config(cfg))
    _write_json(folder / "generation_config.json", generation_config(cfg))
    write_tokenizer_files(folder, cfg, tokenizer_json)
    fp32 = build_optimum_model(cfg, weights)
    q4 = quantize_int4(_copy(fp32))
    _save(q4, folder / "onnx" / "model_q4.onnx", None)
    _save(fp32, folder / "onnx" / "model.onnx", "model.onnx_data")
    return (
        BuiltModel(folder, cfg, weights),
        BuiltModel(folder, cfg, dequantized_weights(q4, weights), "q4", BLOCK_SIZE),
    )


def build_genai_folder(
    folder: Path, cfg: TinyQwenConfig, tokenizer_json: Path, *, int4: bool
) -> BuiltModel:
    weights = random_weights(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "genai_config.json", genai_config(cfg))
    write_tokenizer_files(folder, cfg, tokenizer_json)
    model = build_genai_model(cfg, weights)
    if int4:
        model = quantize_int4(model)
        weights = dequantized_weights(model, weights)
        _save(model, folder / "model.onnx", None)
    else:
        _save(model, folder / "model.onnx", "model.onnx.data")
    return BuiltModel(folder, cfg, weights, act_block=BLOCK_SIZE if int4 else None)
