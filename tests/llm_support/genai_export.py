"""The decoder graph as onnxruntime-genai's model builder writes it (``model.onnx``).

I/O contract: ``input_ids``, ``attention_mask`` (int64, over past + current tokens) and
``past_key_values.N.key/value``; outputs ``logits`` and ``present.N.key/value``.  There is no
``position_ids``: ``com.microsoft.GroupQueryAttention`` applies rotary itself (``do_rotary=1``
with ``cos_cache``/``sin_cache`` of ``[max_positions, head_dim/2]``) from ``seqlens_k``
(attention_mask row sums - 1) and ``total_sequence_length``.  Past and present share one
preallocated ``[batch, kv_heads, max_length, head_dim]`` buffer (``past_present_share_buffer``).
Norms are ``SimplifiedLayerNormalization`` / ``com.microsoft.SkipSimplifiedLayerNormalization``;
Qwen3's q/k norms run on a ``[b, s*heads, head_dim]`` reshape, as the builder does on CPU.
"""

from __future__ import annotations

import numpy as np
import onnx

from .graph_helper import FLOAT, INT32, INT64, GraphHelper
from .tiny_qwen import TinyQwenConfig, Weights, lm_head

OPSET = 21
MS = "com.microsoft"


def _linear(g: GraphHelper, x: str, w: Weights, hf_name: str, layer: int, short: str) -> str:
    base = f"/model/layers.{layer}/{short}"
    weight = g.init(
        f"model.layers.{layer}.{short.replace('/', '.')}.MatMul.weight", w[hf_name + ".weight"].T
    )
    out = g.op("MatMul", [x, weight], name=f"{base}/MatMul")
    if hf_name + ".bias" in w:
        bias = g.init(
            f"model.layers.{layer}.{short.replace('/', '.')}.Add.bias", w[hf_name + ".bias"]
        )
        out = g.op("Add", [out, bias], name=f"{base}/Add")
    return out


def _qk_norm(
    g: GraphHelper, x: str, weight: np.ndarray, name: str, cfg: TinyQwenConfig, heads: int
) -> str:
    flat = g.op("Reshape", [x, g.const([0, -1, cfg.head_dim])], name=f"{name}/Reshape_1")
    normed = g.op(
        "SimplifiedLayerNormalization",
        [flat, g.init(f"{name}.weight", weight)],
        name=f"{name}/SimplifiedLayerNormalization",
        epsilon=cfg.rms_norm_eps,
        axis=-1,
        stash_type=1,
    )
    return g.op(
        "Reshape", [normed, g.const([0, -1, heads * cfg.head_dim])], name=f"{name}/Reshape_2"
    )


def rotary_caches(cfg: TinyQwenConfig) -> tuple[np.ndarray, np.ndarray]:
    inv_freq = 1.0 / cfg.rope_theta ** (
        np.arange(0, cfg.head_dim, 2, dtype=np.float64) / cfg.head_dim
    )
    freqs = np.outer(np.arange(cfg.max_position_embeddings, dtype=np.float64), inv_freq)
    return np.cos(freqs).astype(np.float32), np.sin(freqs).astype(np.float32)


def build_genai_model(cfg: TinyQwenConfig, w: Weights) -> onnx.ModelProto:
    g = GraphHelper()
    nh, nkv, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    eps = cfg.rms_norm_eps
    ids = g.input("input_ids", INT64, ["batch_size", "sequence_length"])
    mask = g.input("attention_mask", INT64, ["batch_size", "total_sequence_length"])
    # The current builder leaves the last dim symbolic so one export serves quantised KV too.
    kv_shape = ["batch_size", nkv, "past_sequence_length", "kv_cache_dim"]
    for i in range(cfg.num_hidden_layers):
        g.input(f"past_key_values.{i}.key", FLOAT, kv_shape)
        g.input(f"past_key_values.{i}.value", FLOAT, kv_shape)

    base = "/model/attn_mask_reformat/attn_mask_subgraph"
    row_sum = g.op("ReduceSum", [mask, g.const([1])], name=f"{base}/ReduceSum", keepdims=0)
    seqlens_k = g.op(
        "Cast",
        [g.op("Sub", [row_sum, g.const([1])], name=f"{base}/Sub")],
        name=f"{base}/Sub/Cast",
        to=INT32,
    )
    total_len = g.op(
        "Gather",
        [g.op("Shape", [mask], name=f"{base}/Shape"), g.const(1)],
        name=f"{base}/Gather",
        axis=0,
    )
    total_len = g.op("Cast", [total_len], name=f"{base}/Gather/Cast", to=INT32)
    cos, sin = rotary_caches(cfg)
    cos_cache, sin_cache = g.init("cos_cache", cos), g.init("sin_cache", sin)

    embed = g.init("model.embed_tokens.weight", w["model.embed_tokens.weight"])
    residual = g.op("Gather", [embed, ids], name="/model/embed_tokens/Gather")
    pending: str | None = None  # output of the previous block, not yet added to the residual

    def norm(x_name: str, location: str, weight: np.ndarray) -> str:
        nonlocal residual, pending
        gamma = g.init(f"{location}.weight", weight)
        if pending is None:
            return g.op(
                "SimplifiedLayerNormalization",
                [x_name, gamma],
                name=f"/{location}/LayerNorm",
                epsilon=eps,
                axis=-1,
                stash_type=1,
            )
        name = f"/{location}/SkipLayerNorm"
        outs = [f"{name}/output_0", "", "", f"{name}/output_3"]
        out = g.op(
            "SkipSimplifiedLayerNormalization",
            [pending, residual, gamma],
            name=name,
            outputs=outs,
            domain=MS,
            epsilon=eps,
        )
        residual, pending = f"{name}/output_3", None
        return out

    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        normed = norm(
            residual, f"model/layers.{i}/input_layernorm", w[p + "input_layernorm.weight"]
        )
        q = _linear(g, normed, w, p + "self_attn.q_proj", i, "attn/q_proj")
        k = _linear(g, normed, w, p + "self_attn.k_proj", i, "attn/k_proj")
        v = _linear(g, normed, w, p + "self_attn.v_proj", i, "attn/v_proj")
        if cfg.qk_norm:
            q = _qk_norm(
                g,
                q,
                w[p + "self_attn.q_norm.weight"],
                f"model.layers.{i}.attn.q_norm.layernorm",
                cfg,
                nh,
            )
            k = _qk_norm(
                g,
                k,
                w[p + "self_attn.k_norm.weight"],
                f"model.layers.{i}.attn.k_norm.layernorm",
                cfg,
                nkv,
            )
        gqa_name = f"/model/layers.{i}/attn/GroupQueryAttention"
        attn = g.op(
            "GroupQueryAttention",
            [
                q,
                k,
                v,
                f"past_key_values.{i}.key",
                f"past_key_values.{i}.value",
                seqlens_k,
                total_len,
                cos_cache,
                sin_cache,
            ],
            name=gqa_name,
            domain=MS,
            outputs=[f"{gqa_name}/output_0", f"present.{i}.key", f"present.{i}.value"],
            num_heads=nh,
            kv_num_heads=nkv,
            scale=float(hd**-0.5),
            local_window_size=-1,
            softcap=0.0,
            do_rotary=1,
            rotary_interleaved=0,
        )
        pending = _linear(g, attn, w, p + "self_attn.o_proj", i, "attn/o_proj")
        normed = norm(
            residual,
            f"model/layers.{i}/post_attention_layernorm",
            w[p + "post_attention_layernorm.weight"],
        )
        gate = _linear(g, normed, w, p + "mlp.gate_proj", i, "mlp/gate_proj")
        up = _linear(g, normed, w, p + "mlp.up_proj", i, "mlp/up_proj")
        act = g.op(
            "Mul",
            [gate, g.op("Sigmoid", [gate], name=f"/model/layers.{i}/mlp/act_fn/Sigmoid")],
            name=f"/model/layers.{i}/mlp/act_fn/Mul",
        )
        act = g.op("Mul", [act, up], name=f"/model/layers.{i}/mlp/Mul")
        pending = _linear(g, act, w, p + "mlp.down_proj", i, "mlp/down_proj")

    normed = norm(
        residual,
        f"model/layers.{cfg.num_hidden_layers}/final_norm_layernorm",
        w["model.norm.weight"],
    )
    g.op(
        "MatMul",
        [normed, g.init("lm_head.MatMul.weight", lm_head(cfg, w).T)],
        name="/lm_head/MatMul",
        outputs=["logits"],
    )
    g.output("logits", FLOAT, ["batch_size", "sequence_length", cfg.vocab_size])
    present_shape = ["batch_size", nkv, "total_sequence_length", "kv_cache_dim"]
    for i in range(cfg.num_hidden_layers):
        g.output(f"present.{i}.key", FLOAT, present_shape)
        g.output(f"present.{i}.value", FLOAT, present_shape)
    return g.model("main_graph", {"": OPSET, MS: 1})
