"""The decoder graph as Hugging Face Optimum / onnx-community export it (``onnx/model.onnx``).

I/O contract (``text-generation-with-past``): ``input_ids``, ``attention_mask`` (over past +
current tokens) and ``position_ids`` (int64), ``past_key_values.N.key/value`` float32
``[batch, kv_heads, past_len, head_dim]``; outputs ``logits`` and ``present.N.key/value`` whose
length is ``past_len + seq_len``.  Only standard ONNX ops, as ``torch.onnx`` emits them: RMSNorm
as Pow/ReduceMean/Sqrt, rotary as rotate-half, causal + padding mask built in the graph.
"""

from __future__ import annotations

import numpy as np
import onnx

from .graph_helper import FLOAT, INT64, GraphHelper
from .tiny_qwen import TinyQwenConfig, Weights, lm_head

OPSET = 17


def _rms_norm(g: GraphHelper, x: str, weight: str, eps: float) -> str:
    sq = g.op("Pow", [x, g.const(2.0, np.float32)])
    mean = g.op("ReduceMean", [sq], axes=[-1], keepdims=1)
    rms = g.op("Sqrt", [g.op("Add", [mean, g.const(eps, np.float32)])])
    return g.op("Mul", [weight, g.op("Div", [x, rms])])


def _linear(g: GraphHelper, x: str, w: Weights, name: str) -> str:
    out = g.op("MatMul", [x, g.init(f"onnx::MatMul_{name}", w[name + ".weight"].T)])
    if name + ".bias" in w:
        out = g.op("Add", [out, g.init(name + ".bias", w[name + ".bias"])])
    return out


def _rotate(g: GraphHelper, x: str, cos: str, sin: str, half: int) -> str:
    x1 = g.op("Slice", [x, g.const([0]), g.const([half]), g.const([-1])])
    x2 = g.op("Slice", [x, g.const([half]), g.const([2 * half]), g.const([-1])])
    rotated = g.op("Concat", [g.op("Neg", [x2]), x1], axis=-1)
    return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rotated, sin])])


def _heads(g: GraphHelper, x: str, heads: int, head_dim: int) -> str:
    """``[b, s, heads*d]`` -> ``[b, s, heads, d]``."""
    return g.op("Reshape", [x, g.const([0, 0, heads, head_dim])])


def build_optimum_model(cfg: TinyQwenConfig, w: Weights) -> onnx.ModelProto:
    g = GraphHelper()
    nh, nkv, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    ids = g.input("input_ids", INT64, ["batch_size", "sequence_length"])
    mask = g.input("attention_mask", INT64, ["batch_size", "past_sequence_length + 1"])
    pos = g.input("position_ids", INT64, ["batch_size", "sequence_length"])
    kv_shape = ["batch_size", nkv, "past_sequence_length", hd]
    for i in range(cfg.num_hidden_layers):
        g.input(f"past_key_values.{i}.key", FLOAT, kv_shape)
        g.input(f"past_key_values.{i}.value", FLOAT, kv_shape)

    embed = g.init("model.embed_tokens.weight", w["model.embed_tokens.weight"])
    hidden = g.op("Gather", [embed, ids])

    # Rotary tables from position_ids: [b, 1, s, d] so they broadcast over heads.
    inv_freq = 1.0 / cfg.rope_theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    pos_f = g.op("Unsqueeze", [g.op("Cast", [pos], to=FLOAT), g.const([2])])
    freqs = g.op("Mul", [pos_f, g.init("rotary_emb.inv_freq", inv_freq.astype(np.float32))])
    emb = g.op("Concat", [freqs, freqs], axis=-1)
    cos = g.op("Unsqueeze", [g.op("Cos", [emb]), g.const([1])])
    sin = g.op("Unsqueeze", [g.op("Sin", [emb]), g.const([1])])

    # Additive mask [b, 1, s, total]: key j is visible to query i if j <= past_len + i and the
    # attention_mask marks j as a real token.
    total = g.op("Squeeze", [g.op("Shape", [mask], start=1, end=2), g.const([0])])
    seq = g.op("Squeeze", [g.op("Shape", [ids], start=1, end=2), g.const([0])])
    past_len = g.op("Sub", [total, seq])
    rows = g.op("Unsqueeze", [g.op("Range", [past_len, total, g.const(1)]), g.const([1])])
    cols = g.op("Unsqueeze", [g.op("Range", [g.const(0), total, g.const(1)]), g.const([0])])
    causal = g.op("LessOrEqual", [cols, rows])
    padding = g.op("Unsqueeze", [g.op("Cast", [mask], to=onnx.TensorProto.BOOL), g.const([1, 2])])
    allowed = g.op("And", [causal, padding])
    neg = g.const(np.finfo(np.float32).min, np.float32)
    additive = g.op("Where", [allowed, g.const(0.0, np.float32), neg])

    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        normed = _rms_norm(
            g,
            hidden,
            g.init(p + "input_layernorm.weight", w[p + "input_layernorm.weight"]),
            cfg.rms_norm_eps,
        )
        q = _heads(g, _linear(g, normed, w, p + "self_attn.q_proj"), nh, hd)
        k = _heads(g, _linear(g, normed, w, p + "self_attn.k_proj"), nkv, hd)
        v = _heads(g, _linear(g, normed, w, p + "self_attn.v_proj"), nkv, hd)
        if cfg.qk_norm:
            q = _rms_norm(
                g,
                q,
                g.init(p + "self_attn.q_norm.weight", w[p + "self_attn.q_norm.weight"]),
                cfg.rms_norm_eps,
            )
            k = _rms_norm(
                g,
                k,
                g.init(p + "self_attn.k_norm.weight", w[p + "self_attn.k_norm.weight"]),
                cfg.rms_norm_eps,
            )
        q = _rotate(g, g.op("Transpose", [q], perm=[0, 2, 1, 3]), cos, sin, hd // 2)
        k = _rotate(g, g.op("Transpose", [k], perm=[0, 2, 1, 3]), cos, sin, hd // 2)
        v = g.op("Transpose", [v], perm=[0, 2, 1, 3])
        k_all = g.op(
            "Concat", [f"past_key_values.{i}.key", k], axis=2, outputs=[f"present.{i}.key"]
        )
        v_all = g.op(
            "Concat", [f"past_key_values.{i}.value", v], axis=2, outputs=[f"present.{i}.value"]
        )
        # repeat_kv: [b, kv, T, d] -> [b, kv, rep, T, d] -> [b, heads, T, d]
        rep = g.const([1, 1, nh // nkv, 1, 1])
        k_rep = g.op(
            "Reshape",
            [
                g.op("Expand", [g.op("Unsqueeze", [k_all, g.const([2])]), rep]),
                g.const([0, nh, -1, hd]),
            ],
        )
        v_rep = g.op(
            "Reshape",
            [
                g.op("Expand", [g.op("Unsqueeze", [v_all, g.const([2])]), rep]),
                g.const([0, nh, -1, hd]),
            ],
        )
        scores = g.op("MatMul", [q, g.op("Transpose", [k_rep], perm=[0, 1, 3, 2])])
        scores = g.op("Add", [g.op("Mul", [scores, g.const(hd**-0.5, np.float32)]), additive])
        attn = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v_rep])
        attn = g.op(
            "Reshape", [g.op("Transpose", [attn], perm=[0, 2, 1, 3]), g.const([0, 0, nh * hd])]
        )
        hidden = g.op("Add", [hidden, _linear(g, attn, w, p + "self_attn.o_proj")])

        normed = _rms_norm(
            g,
            hidden,
            g.init(p + "post_attention_layernorm.weight", w[p + "post_attention_layernorm.weight"]),
            cfg.rms_norm_eps,
        )
        gate = _linear(g, normed, w, p + "mlp.gate_proj")
        up = _linear(g, normed, w, p + "mlp.up_proj")
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
        hidden = g.op("Add", [hidden, _linear(g, act, w, p + "mlp.down_proj")])

    normed = _rms_norm(
        g, hidden, g.init("model.norm.weight", w["model.norm.weight"]), cfg.rms_norm_eps
    )
    g.op("MatMul", [normed, g.init("lm_head.MatMul.weight", lm_head(cfg, w).T)], outputs=["logits"])
    g.output("logits", FLOAT, ["batch_size", "sequence_length", cfg.vocab_size])
    present_shape = ["batch_size", nkv, "past_sequence_length + 1", hd]
    for i in range(cfg.num_hidden_layers):
        g.output(f"present.{i}.key", FLOAT, present_shape)
        g.output(f"present.{i}.value", FLOAT, present_shape)
    return g.model("main_graph", {"": OPSET})
