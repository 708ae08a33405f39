"""An independent numpy implementation of the Qwen2 / Qwen3 decoder (no KV cache, no ONNX).

It recomputes the whole sequence for every step, so it shares nothing with the engine's cache
handling, and it follows ``transformers``' modeling code, not the ONNX graphs: rotate-half RoPE,
``repeat_kv`` for grouped-query attention, SiLU-gated MLP, RMSNorm in float32.
"""

from __future__ import annotations

import platform

import numpy as np

from .tiny_qwen import TinyQwenConfig, Weights


def _rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    x64 = x.astype(np.float64)
    return x64 / np.sqrt(np.mean(x64 * x64, axis=-1, keepdims=True) + eps) * weight


def _rope(x: np.ndarray, positions: np.ndarray, theta: float) -> np.ndarray:
    """``x``: [heads, seq, d]."""
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    angles = np.outer(positions, inv_freq)
    cos = np.concatenate([np.cos(angles)] * 2, axis=-1)
    sin = np.concatenate([np.sin(angles)] * 2, axis=-1)
    rotated = np.concatenate([-x[..., d // 2 :], x[..., : d // 2]], axis=-1)
    return x * cos + rotated * sin


def quantize_activations(a: np.ndarray, block: int | None) -> np.ndarray:
    """What MatMulNBits with ``accuracy_level=4`` feeds its int8 kernel (MLAS, x86): each row
    cut into blocks of ``block`` values along K; each block is multiplied by the float32
    reciprocal of its scale max|a|/127 and rounded to int8.  (Dividing by the scale instead
    flips a few roundings, which this chaotic random model amplifies to ~1 logit.)"""
    if block is None:
        return a
    k = a.shape[-1]
    pad = (-k) % block
    padded = np.concatenate([a, np.zeros((*a.shape[:-1], pad))], axis=-1).astype(np.float32)
    blocks = padded.reshape((*a.shape[:-1], -1, block))
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    scale = amax / np.float32(127.0)
    inverse = np.where(amax > 0, np.float32(127.0) / np.where(amax > 0, amax, 1), 0)
    q = np.clip(np.round(blocks * inverse.astype(np.float32)), -127, 127) * scale
    return q.reshape((*a.shape[:-1], -1))[..., :k].astype(np.float64)


def hidden_states(
    cfg: TinyQwenConfig, w: Weights, ids: list[int], act_block: int | None = None
) -> np.ndarray:
    """Final-norm hidden states ``[seq, hidden]`` (float64) for the token ids.

    ``act_block`` emulates int8 activation quantisation in front of every weight MatMul (int4
    models quantised with accuracy level 4); ``None`` is exact float math.
    """
    seq = len(ids)
    nh, nkv, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    x = w["model.embed_tokens.weight"][np.asarray(ids)].astype(np.float64)
    positions = np.arange(seq, dtype=np.float64)
    future = np.triu(np.ones((seq, seq), dtype=bool), k=1)
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."

        def proj(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
            out = quantize_activations(h, act_block) @ w[p + name + ".weight"].T.astype(np.float64)
            bias = w.get(p + name + ".bias")
            return out if bias is None else out + bias

        h = _rms_norm(x, w[p + "input_layernorm.weight"], cfg.rms_norm_eps)
        q = proj(h, "self_attn.q_proj").reshape(seq, nh, hd)
        k = proj(h, "self_attn.k_proj").reshape(seq, nkv, hd)
        v = proj(h, "self_attn.v_proj").reshape(seq, nkv, hd)
        if cfg.qk_norm:
            q = _rms_norm(q, w[p + "self_attn.q_norm.weight"], cfg.rms_norm_eps)
            k = _rms_norm(k, w[p + "self_attn.k_norm.weight"], cfg.rms_norm_eps)
        q = _rope(q.transpose(1, 0, 2), positions, cfg.rope_theta)
        k = _rope(k.transpose(1, 0, 2), positions, cfg.rope_theta)
        v = v.transpose(1, 0, 2)
        k = np.repeat(k, nh // nkv, axis=0)
        v = np.repeat(v, nh // nkv, axis=0)
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        scores[:, future] = -np.inf
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        attn = (probs @ v).transpose(1, 0, 2).reshape(seq, nh * hd)
        x = x + proj(attn, "self_attn.o_proj")

        h = _rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
        gate, up = proj(h, "mlp.gate_proj"), proj(h, "mlp.up_proj")
        x = x + proj(gate / (1.0 + np.exp(-gate)) * up, "mlp.down_proj")
    return _rms_norm(x, w["model.norm.weight"], cfg.rms_norm_eps)


def lm_head_matrix(w: Weights) -> np.ndarray:
    return w.get("lm_head.weight", w["model.embed_tokens.weight"])


def logits(
    cfg: TinyQwenConfig, w: Weights, ids: list[int], act_block: int | None = None
) -> np.ndarray:
    """``[seq, vocab]`` logits."""
    h = quantize_activations(hidden_states(cfg, w, ids, act_block), act_block)
    return h @ lm_head_matrix(w).T.astype(np.float64)


def exact_int4_supported() -> bool:
    """Whether :func:`quantize_activations` matches this machine's MatMulNBits kernels: it
    follows MLAS's x86 int8 path; ARM builds (KleidiAI) quantise activations per row."""
    return platform.machine().lower() in ("x86_64", "amd64")


# The first onnxruntime whose x86 int8 path rounds activations exactly as quantize_activations
# does. Older ones (checked down to 1.21, scripts/check_floors.sh) flip a few roundings: ~1 logit
# on the Qwen3 int4 models, which only the logits-to-1e-3 comparison notices (greedy generation
# still agrees with the reference).
EXACT_INT4_LOGITS_SINCE = (1, 30)


def exact_int4_logits_supported() -> bool:
    """:func:`exact_int4_supported`, and an onnxruntime that rounds like the reference."""
    import onnxruntime

    release = onnxruntime.__version__.split("+")[0].split(".")[:2]
    return exact_int4_supported() and tuple(map(int, release)) >= EXACT_INT4_LOGITS_SINCE
