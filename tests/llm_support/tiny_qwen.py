"""Tiny random-weight Qwen2 / Qwen3 checkpoints (numpy, Hugging Face parameter names and layout).

Weights follow ``transformers``' names (``model.layers.0.self_attn.q_proj.weight`` is
``[out_features, in_features]``).  The scales are deliberately large: with the usual 0.02 init a
64-wide model is a near-identity map and greedy decoding just echoes the last prompt token.
Embeddings have std 1 and each residual branch is scaled so it outweighs the token embedding,
which makes the next token depend on the whole context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .qwen_tokenizer_json import FIRST_SPECIAL_ID

Weights = dict[str, np.ndarray]

ENDOFTEXT_ID = FIRST_SPECIAL_ID
IM_START_ID = FIRST_SPECIAL_ID + 1
IM_END_ID = FIRST_SPECIAL_ID + 2


@dataclass(frozen=True)
class TinyQwenConfig:
    model_type: str  # "qwen2" or "qwen3"
    seed: int
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 16
    vocab_size: int = 151936  # the real Qwen2/Qwen3 padded vocabulary
    max_position_embeddings: int = 512
    rope_theta: float = 1_000_000.0
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = False

    @property
    def attention_bias(self) -> bool:
        return self.model_type == "qwen2"  # Qwen2 has q/k/v biases, Qwen3 has q/k norms instead

    @property
    def qk_norm(self) -> bool:
        return self.model_type == "qwen3"


def qwen2_config(seed: int = 2) -> TinyQwenConfig:
    return TinyQwenConfig(model_type="qwen2", seed=seed)


def qwen3_config(seed: int = 3) -> TinyQwenConfig:
    # Qwen3 has an explicit head_dim that need not equal hidden/heads (here 4 x 32 = 128 != 64),
    # and ties the LM head to the embedding like Qwen3-0.6B.
    return TinyQwenConfig(model_type="qwen3", seed=seed, head_dim=32, tie_word_embeddings=True)


def random_weights(cfg: TinyQwenConfig) -> Weights:
    rng = np.random.default_rng(cfg.seed)
    hidden, inter = cfg.hidden_size, cfg.intermediate_size
    q_size = cfg.num_attention_heads * cfg.head_dim
    kv_size = cfg.num_key_value_heads * cfg.head_dim

    def linear(out_f: int, in_f: int, gain: float) -> np.ndarray:
        return (rng.standard_normal((out_f, in_f)) * gain / np.sqrt(in_f)).astype(np.float32)

    def norm(size: int) -> np.ndarray:
        return (1.0 + 0.2 * rng.standard_normal(size)).astype(np.float32)

    w: Weights = {
        "model.embed_tokens.weight": rng.standard_normal((cfg.vocab_size, hidden)).astype(
            np.float32
        )
    }
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(hidden)
        w[p + "post_attention_layernorm.weight"] = norm(hidden)
        # Gain 2 on Q/K gives peaked attention, so attention patterns actually depend on position.
        w[p + "self_attn.q_proj.weight"] = linear(q_size, hidden, 2.0)
        w[p + "self_attn.k_proj.weight"] = linear(kv_size, hidden, 2.0)
        w[p + "self_attn.v_proj.weight"] = linear(kv_size, hidden, 1.0)
        w[p + "self_attn.o_proj.weight"] = linear(hidden, q_size, 3.0)
        if cfg.attention_bias:
            for name, size in (("q", q_size), ("k", kv_size), ("v", kv_size)):
                w[p + f"self_attn.{name}_proj.bias"] = (0.5 * rng.standard_normal(size)).astype(
                    np.float32
                )
        if cfg.qk_norm:
            w[p + "self_attn.q_norm.weight"] = norm(cfg.head_dim)
            w[p + "self_attn.k_norm.weight"] = norm(cfg.head_dim)
        w[p + "mlp.gate_proj.weight"] = linear(inter, hidden, 2.0)
        w[p + "mlp.up_proj.weight"] = linear(inter, hidden, 2.0)
        w[p + "mlp.down_proj.weight"] = linear(hidden, inter, 3.0)
    w["model.norm.weight"] = norm(hidden)
    if not cfg.tie_word_embeddings:
        w["lm_head.weight"] = linear(cfg.vocab_size, hidden, 4.0)
    return w


def lm_head(cfg: TinyQwenConfig, w: Weights) -> np.ndarray:
    """``[vocab, hidden]``: the embedding itself when tied."""
    return w["model.embed_tokens.weight"] if cfg.tie_word_embeddings else w["lm_head.weight"]


def hf_config(cfg: TinyQwenConfig) -> dict[str, Any]:
    """``config.json`` as ``transformers`` writes it for Qwen2ForCausalLM / Qwen3ForCausalLM."""
    arch = "Qwen2ForCausalLM" if cfg.model_type == "qwen2" else "Qwen3ForCausalLM"
    out: dict[str, Any] = {
        "architectures": [arch],
        "attention_dropout": 0.0,
        "bos_token_id": ENDOFTEXT_ID,
        "eos_token_id": IM_END_ID,
        "hidden_act": "silu",
        "hidden_size": cfg.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": cfg.intermediate_size,
        "max_position_embeddings": cfg.max_position_embeddings,
        "max_window_layers": cfg.num_hidden_layers,
        "model_type": cfg.model_type,
        "num_attention_heads": cfg.num_attention_heads,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_key_value_heads": cfg.num_key_value_heads,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_scaling": None,
        "rope_theta": cfg.rope_theta,
        "sliding_window": None,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": cfg.vocab_size,
    }
    if cfg.model_type == "qwen3":
        out["head_dim"] = cfg.head_dim
        out["attention_bias"] = False
    return out


def generation_config(cfg: TinyQwenConfig) -> dict[str, Any]:
    top_p = 0.8 if cfg.model_type == "qwen2" else 0.95
    return {
        "bos_token_id": ENDOFTEXT_ID,
        "do_sample": True,
        "eos_token_id": [IM_END_ID, ENDOFTEXT_ID],
        "pad_token_id": ENDOFTEXT_ID,
        "repetition_penalty": 1.05,
        "temperature": 0.7,
        "top_k": 20,
        "top_p": top_p,
    }


# The chat templates of the real models, as their tokenizer_config.json ships them ("chat_template"):
# chat_templates/qwen2.5.jinja is Qwen/Qwen2.5-*-Instruct's (the default system prompt "You are
# Qwen, created by Alibaba Cloud. ..."), chat_templates/qwen3.jinja is Qwen/Qwen3-0.6B's (also
# 1.7B ... 14B; the enable_thinking switch).  No test dependency ships them and tests cannot
# download, so they are kept here as data: the model contract the engine must render exactly as
# transformers does.  Written from the published files (Apache-2.0); each checked character for
# character against a transcription of it in public code.
CHAT_TEMPLATES = Path(__file__).parent / "chat_templates"


def chat_template(model_type: str) -> str:
    name = "qwen3.jinja" if model_type == "qwen3" else "qwen2.5.jinja"
    return (CHAT_TEMPLATES / name).read_text(encoding="utf-8")


def tokenizer_config(cfg: TinyQwenConfig) -> dict[str, Any]:
    template = chat_template(cfg.model_type)
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "bos_token": None,
        "chat_template": template,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": cfg.max_position_embeddings,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
