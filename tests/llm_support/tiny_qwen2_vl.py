"""A tiny random-weight Qwen2-VL: transformers' own model, exported by :mod:`vl_export` to
onnx-community's three-graph folder (config, preprocessor config, Qwen tokenizer, the model's
chat template), so the engine can be checked against ``Qwen2VLForConditionalGeneration``.

Weights are redrawn large (std-1 embeddings, unit-gain linears, norms near 1): with the usual
0.02 init a tiny model echoes its input, and the picture would not change the answer.  The LM
head rows of special and padding ids are zeroed, so greedy decoding never stops early.
Needs torch and transformers (imported inside the functions).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .qwen_tokenizer_json import FIRST_SPECIAL_ID
from .tiny_qwen import CHAT_TEMPLATES, ENDOFTEXT_ID, IM_END_ID

IMAGE_TOKEN_ID = FIRST_SPECIAL_ID + 12  # <|image_pad|>, as in Qwen2-VL's tokenizer
VISION_START_ID = FIRST_SPECIAL_ID + 9
TEXT = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "max_position_embeddings": 512,
    "rope_theta": 1_000_000.0,
    "rms_norm_eps": 1e-6,
    "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},  # head_dim 16: 8 pairs
    "tie_word_embeddings": False,
}
VISION = {
    "depth": 2,
    "embed_dim": 32,
    "hidden_size": 64,
    "num_heads": 4,
    "mlp_ratio": 2,
    "in_channels": 3,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
}
# A small pixel budget: at most 20 image tokens a picture.
PREPROCESSOR = {
    "min_pixels": 56 * 56,
    "max_pixels": 28 * 28 * 20,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor",
    "processor_class": "Qwen2VLProcessor",
}


def config_json() -> dict[str, Any]:
    """config.json as the Qwen2-VL releases write it (text fields at the top level)."""
    return {
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "model_type": "qwen2_vl",
        **TEXT,
        "hidden_act": "silu",
        "bos_token_id": ENDOFTEXT_ID,
        "eos_token_id": IM_END_ID,
        "vision_start_token_id": VISION_START_ID,
        "vision_end_token_id": VISION_START_ID + 1,
        "vision_token_id": VISION_START_ID + 2,
        "image_token_id": IMAGE_TOKEN_ID,
        "video_token_id": IMAGE_TOKEN_ID + 1,
        "vision_config": VISION,
    }


def build_model(seed: int) -> Any:
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    config = Qwen2VLConfig(**config_json())
    config.vision_config.hidden_act = "quick_gelu"
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 1:
                is_scale = "norm" in name or "ln_q" in name
                param.copy_(
                    1.0 + 0.2 * torch.randn_like(param)
                    if is_scale
                    else 0.1 * torch.randn_like(param)
                )
            elif "embed_tokens" in name:
                param.copy_(torch.randn_like(param))
            else:
                fan_in = param[0].numel()
                param.copy_(torch.randn_like(param) / fan_in**0.5)
        model.lm_head.weight[FIRST_SPECIAL_ID:] = 0.0
    return model.eval()


def tokenizer_config() -> dict[str, Any]:
    return {
        "add_prefix_space": False,
        "bos_token": None,
        "chat_template": (CHAT_TEMPLATES / "qwen2-vl.jinja").read_text(encoding="utf-8"),
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": TEXT["max_position_embeddings"],
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def write_folder(model: Any, folder: Path, tokenizer_json: Path) -> Path:
    """The model exported to ``folder`` in onnx-community's layout."""
    from .vl_export import export_three_graphs

    export_three_graphs(model, folder)
    generation = {
        "bos_token_id": ENDOFTEXT_ID,
        "eos_token_id": [IM_END_ID, ENDOFTEXT_ID],
        "pad_token_id": ENDOFTEXT_ID,
        "do_sample": True,
        "temperature": 0.01,
        "top_k": 1,
        "top_p": 0.001,
    }
    return write_side_files(folder, tokenizer_json, generation)


def write_side_files(folder: Path, tokenizer_json: Path, generation: dict[str, Any]) -> Path:
    """The folder's JSON files beside its graphs (config, ``generation`` config, preprocessor,
    tokenizer config) and the tokenizer copied from ``tokenizer_json``."""
    files: dict[str, Any] = {
        "config.json": config_json(),
        "generation_config.json": generation,
        "preprocessor_config.json": PREPROCESSOR,
        "tokenizer_config.json": tokenizer_config(),
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(tokenizer_json, folder / "tokenizer.json")
    return folder
