"""Our own export of a transformers Qwen2-VL to onnx-community's three-graph contract.

``torch.onnx.export`` (TorchScript tracer) of three small modules that compute with the
transformers model's weights, written so the traced graphs keep their shapes dynamic:

* ``vision_encoder``: ``pixel_values`` [patches, C*T*P*P], ``grid_thw`` [1, 3] ->
  ``image_features`` [patches / merge^2, hidden]: patch embedding, the 2-D rotary positions of
  each patch (from its index in the merge-block order and the grid width), full attention
  within the picture (one still image per call, as the engine calls it), the patch merger;
* ``embed_tokens``: ``input_ids`` -> ``inputs_embeds``;
* ``decoder_model_merged``: ``inputs_embeds``, ``attention_mask``, ``position_ids`` [3, b, s],
  ``past_key_values.N.key/value`` -> ``logits``, ``present.N.key/value``: M-RoPE with the
  config's ``mrope_section``, causal + padding mask, grouped-query attention.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

OPSET = 17


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class VisionEncoder(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.visual = model.model.visual
        self.merge = int(model.config.vision_config.spatial_merge_size)
        self.heads = int(model.config.vision_config.num_heads)

    def forward(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        visual, m = self.visual, self.merge
        x = visual.patch_embed(pixel_values)
        n = x.shape[0]
        blocks_per_row = grid_thw[0, 2] // m
        k = torch.arange(n)
        block, inner = k // (m * m), k % (m * m)
        hpos = (block // blocks_per_row) * m + inner // m
        wpos = (block % blocks_per_row) * m + inner % m
        inv_freq = visual.rotary_pos_emb.inv_freq
        rotary = torch.cat(
            (hpos.float()[:, None] * inv_freq[None], wpos.float()[:, None] * inv_freq[None]), -1
        )
        emb = torch.cat((rotary, rotary), dim=-1)
        cos, sin = emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)
        for blk in visual.blocks:
            h = blk.norm1(x)
            qkv = blk.attn.qkv(h).reshape(n, 3, self.heads, -1).permute(1, 0, 2, 3)
            q, key, v = qkv[0], qkv[1], qkv[2]
            q = q * cos + _rotate_half(q) * sin
            key = key * cos + _rotate_half(key) * sin
            q, key, v = q.transpose(0, 1), key.transpose(0, 1), v.transpose(0, 1)
            scores = torch.matmul(q, key.transpose(1, 2)) * blk.attn.scaling
            attn = torch.matmul(torch.softmax(scores, dim=-1), v)
            x = x + blk.attn.proj(attn.transpose(0, 1).reshape(n, -1))
            x = x + blk.mlp(blk.norm2(x))
        return visual.merger(x)  # type: ignore[no-any-return]


class EmbedTokens(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        self.embed = model.model.language_model.embed_tokens

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embed(input_ids)  # type: ignore[no-any-return]


class Decoder(nn.Module):
    def __init__(self, model: Any) -> None:
        super().__init__()
        text = model.config.text_config
        self.lm = model.model.language_model
        self.lm_head = model.lm_head
        self.heads, self.kv_heads = text.num_attention_heads, text.num_key_value_heads
        self.head_dim = text.hidden_size // text.num_attention_heads
        self.sections = list(text.rope_scaling["mrope_section"]) * 2

    def forward(
        self,
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        *past: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        x = inputs_embeds
        b, s = x.shape[0], x.shape[1]
        total = attention_mask.shape[1]
        freqs = position_ids.float()[..., None] * self.lm.rotary_emb.inv_freq  # [3, b, s, d/2]
        emb = torch.cat((freqs, freqs), dim=-1)

        def sectioned(t: torch.Tensor) -> torch.Tensor:
            parts = t.split(self.sections, dim=-1)
            return torch.cat([p[i % 3] for i, p in enumerate(parts)], dim=-1).unsqueeze(1)

        cos, sin = sectioned(emb.cos()), sectioned(emb.sin())
        rows = torch.arange(s)[:, None] + (total - s)
        allowed = (torch.arange(total)[None, :] <= rows)[None, None] & attention_mask.bool()[
            :, None, None, :
        ]
        additive = torch.where(
            allowed, torch.tensor(0.0), torch.tensor(torch.finfo(torch.float32).min)
        )
        presents: list[torch.Tensor] = []
        rep, hd = self.heads // self.kv_heads, self.head_dim
        for i, layer in enumerate(self.lm.layers):
            attn_mod = layer.self_attn
            h = layer.input_layernorm(x)
            q = attn_mod.q_proj(h).view(b, s, self.heads, hd).transpose(1, 2)
            k = attn_mod.k_proj(h).view(b, s, self.kv_heads, hd).transpose(1, 2)
            v = attn_mod.v_proj(h).view(b, s, self.kv_heads, hd).transpose(1, 2)
            q = q * cos + _rotate_half(q) * sin
            k = k * cos + _rotate_half(k) * sin
            k = torch.cat((past[2 * i], k), dim=2)
            v = torch.cat((past[2 * i + 1], v), dim=2)
            presents += [k, v]
            k = k[:, :, None].expand(b, self.kv_heads, rep, total, hd).reshape(b, -1, total, hd)
            v = v[:, :, None].expand(b, self.kv_heads, rep, total, hd).reshape(b, -1, total, hd)
            scores = torch.matmul(q, k.transpose(2, 3)) * hd**-0.5 + additive
            out = torch.matmul(torch.softmax(scores, dim=-1), v)
            x = x + attn_mod.o_proj(out.transpose(1, 2).reshape(b, s, -1))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return (self.lm_head(self.lm.norm(x)), *presents)


GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model_merged")


def export_three_graphs(
    model: Any, out: Path, graphs: tuple[str, ...] = GRAPHS, external_data: bool = False
) -> None:
    """``out/onnx/{vision_encoder,embed_tokens,decoder_model_merged}.onnx`` (those of
    ``graphs``).  ``external_data``: weights beside the graph, one file per tensor (needed past
    2 GB; export each graph to its own ``out`` then, as tensor file names may collide)."""
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    vision = model.config.vision_config
    patch_len = vision.in_channels * vision.temporal_patch_size * vision.patch_size**2
    grid = torch.tensor([[1, 4, 6]], dtype=torch.int64)
    common: dict[str, Any] = {
        "dynamo": False,
        "opset_version": OPSET,
        "external_data": external_data,
    }
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter (the one that needs no onnxscript) warns that it is legacy.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        if "vision_encoder" in graphs:
            torch.onnx.export(
                VisionEncoder(model).eval(),
                (torch.randn(24, patch_len), grid),
                str(out / "onnx" / "vision_encoder.onnx"),
                input_names=["pixel_values", "grid_thw"],
                output_names=["image_features"],
                dynamic_axes={
                    "pixel_values": {0: "num_patches"},
                    "image_features": {0: "num_tokens"},
                },
                **common,
            )
        if "embed_tokens" in graphs:
            torch.onnx.export(
                EmbedTokens(model).eval(),
                (torch.tensor([[1, 2, 3]], dtype=torch.int64),),
                str(out / "onnx" / "embed_tokens.onnx"),
                input_names=["input_ids"],
                output_names=["inputs_embeds"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "seq"},
                    "inputs_embeds": {0: "batch", 1: "seq"},
                },
                **common,
            )
        if "decoder_model_merged" in graphs:
            _export_decoder(model, out / "onnx" / "decoder_model_merged.onnx", common)


def _export_decoder(model: Any, path: Path, common: dict[str, Any]) -> None:
    text = model.config.text_config
    layers, kv, hd = (
        text.num_hidden_layers,
        text.num_key_value_heads,
        text.hidden_size // text.num_attention_heads,
    )
    past = [torch.randn(1, kv, 3, hd) for _ in range(2 * layers)]
    past_names = [f"past_key_values.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
    present_names = [f"present.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
    dynamic = {
        "inputs_embeds": {0: "batch", 1: "seq"},
        "attention_mask": {0: "batch", 1: "total"},
        "position_ids": {1: "batch", 2: "seq"},
        "logits": {0: "batch", 1: "seq"},
        **{n: {0: "batch", 2: "past"} for n in past_names},
        **{n: {0: "batch", 2: "total"} for n in present_names},
    }
    torch.onnx.export(
        Decoder(model).eval(),
        (
            torch.randn(1, 5, text.hidden_size),
            torch.ones(1, 8, dtype=torch.int64),
            torch.arange(3, 8).view(1, 1, 5).expand(3, 1, 5).contiguous(),
            *past,
        ),
        str(path),
        input_names=["inputs_embeds", "attention_mask", "position_ids", *past_names],
        output_names=["logits", *present_names],
        dynamic_axes=dynamic,
        **common,
    )
