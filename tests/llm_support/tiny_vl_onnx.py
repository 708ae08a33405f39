"""A tiny Qwen2-VL folder built with ``onnx`` alone (no torch), for the engine's own tests.

The three graphs follow the contract exactly, but only the decoder is a real transformer: it
is :mod:`optimum_export`'s Qwen2 graph with its token embedding cut out (``inputs_embeds`` in)
and rotary positions read from the temporal row of ``position_ids`` [3, b, s].  The vision
encoder merges each 2 x 2 block of patches and projects it (MatMul, Tanh); ``embed_tokens`` is
a Gather.  Numerics against transformers are the torch tier's job (test_llm_vision_torch.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from .graph_helper import FLOAT, INT64, GraphHelper
from .optimum_export import OPSET, build_optimum_model
from .tiny_qwen import TinyQwenConfig, qwen2_config, random_weights
from .tiny_qwen2_vl import write_side_files

PATCH = 3 * 2 * 14 * 14  # C * T * P * P


def _decoder(cfg: TinyQwenConfig, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    model = build_optimum_model(cfg, weights)
    graph = model.graph
    embed = next(n for n in graph.node if n.op_type == "Gather" and "input_ids" in n.input)
    graph.node.remove(embed)
    kept = [i for i in graph.initializer if i.name != "model.embed_tokens.weight"]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for node in graph.node:
        for k, name in enumerate(node.input):
            node.input[k] = {
                embed.output[0]: "inputs_embeds",
                "input_ids": "inputs_embeds",
                "position_ids": "temporal_positions",
            }.get(name, name)
    zero = helper.make_tensor("temporal_row", onnx.TensorProto.INT64, [], [0])
    graph.initializer.append(zero)
    pick = helper.make_node("Gather", ["position_ids", "temporal_row"], ["temporal_positions"])
    graph.node.insert(0, pick)
    inputs = [i for i in graph.input if i.name not in ("input_ids", "position_ids")]
    del graph.input[:]
    graph.input.extend(
        [
            helper.make_tensor_value_info(
                "inputs_embeds", FLOAT, ["batch", "seq", cfg.hidden_size]
            ),
            helper.make_tensor_value_info("position_ids", INT64, [3, "batch", "seq"]),
            *inputs,
        ]
    )
    return model


def _embed_tokens(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    g = GraphHelper()
    ids = g.input("input_ids", INT64, ["batch", "seq"])
    table = g.init("embed_tokens.weight", weights["model.embed_tokens.weight"])
    g.op("Gather", [table, ids], outputs=["inputs_embeds"])
    g.output(
        "inputs_embeds", FLOAT, ["batch", "seq", weights["model.embed_tokens.weight"].shape[1]]
    )
    return g.model("embed_tokens", {"": OPSET})


def _vision_encoder(hidden: int, seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    g = GraphHelper()
    pixels = g.input("pixel_values", FLOAT, ["num_patches", PATCH])
    g.input("grid_thw", INT64, ["num_images", 3])
    blocks = g.op("Reshape", [pixels, g.const([-1, 4 * PATCH])])
    weight = (rng.standard_normal((4 * PATCH, hidden)) * 3 / np.sqrt(4 * PATCH)).astype(np.float32)
    projected = g.op("MatMul", [blocks, g.init("merger.weight", weight)])
    g.op("Tanh", [projected], outputs=["image_features"])
    g.output("image_features", FLOAT, ["num_tokens", hidden])
    return g.model("vision_encoder", {"": OPSET})


def build_vl_folder(folder: Path, tokenizer_json: Path, seed: int = 5) -> Path:
    cfg = qwen2_config(seed=seed)
    weights = random_weights(cfg)
    (folder / "onnx").mkdir(parents=True, exist_ok=True)
    onnx.save_model(_decoder(cfg, weights), str(folder / "onnx" / "decoder_model_merged.onnx"))
    onnx.save_model(_embed_tokens(weights), str(folder / "onnx" / "embed_tokens.onnx"))
    onnx.save_model(
        _vision_encoder(cfg.hidden_size, seed), str(folder / "onnx" / "vision_encoder.onnx")
    )
    generation = {"eos_token_id": [151645, 151643], "do_sample": False}
    return write_side_files(folder, tokenizer_json, generation)
