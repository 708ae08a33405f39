"""The benchmark's model: a random-weight Qwen2-VL at Qwen2-VL-2B-Instruct's dimensions, written
as a Hugging Face checkpoint (the transformers peer loads it) and exported by the test suite's
own code (``tests/llm_support/vl_export.py``) to onnx-community's three graphs, int4 like the
published ``*_q4.onnx`` files.

Two steps, each run in a child process by ``bench_vlm.py`` so that neither's memory stays:

- ``export``: build the model (transformers' own initialisation, seeded), save the checkpoint
  (1 GB shards: safetensors copies a shard while writing it), export each graph to its own
  folder with its weights as external files (the decoder is past protobuf's 2 GB), the vision
  tower freed before the decoder is traced (the largest step: weights + their folded
  transposes);
- ``quantize``: onnxruntime's ``MatMulNBitsQuantizer`` on each graph's MatMuls, 4 bits,
  symmetric, block 32, no accuracy level: transformers.js's ``scripts/quantize.py`` q4 defaults,
  which made onnx-community's q4 files.  The token embedding is a Gather and stays float32
  there (``embed_tokens_q4.onnx``), so it does here.
"""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path
from typing import Any

BLOCK_SIZE = 32
FIRST_SPECIAL = 151643  # <|endoftext|>: the LM head rows from here on are zeroed
IMAGE_PAD = FIRST_SPECIAL + 12
VISION_START = FIRST_SPECIAL + 9
ENDOFTEXT, IM_END = FIRST_SPECIAL, FIRST_SPECIAL + 2

# Qwen2-VL-2B-Instruct's config.json (text fields at the top level, as the release writes it).
# transformers' Qwen2VLConfig() defaults to the 72B text and the 7B vision tower: its vision
# defaults equal the 2B's but for hidden_size (the merger's output: 3584 there, 1536 here).
TEXT_2B: dict[str, Any] = {
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "max_position_embeddings": 32768,
    "rope_theta": 1_000_000.0,
    "rms_norm_eps": 1e-6,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "tie_word_embeddings": True,
}
VISION_2B: dict[str, Any] = {
    "depth": 32,
    "embed_dim": 1280,
    "hidden_size": 1536,
    "num_heads": 16,
    "mlp_ratio": 4,
    "in_channels": 3,
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "hidden_act": "quick_gelu",
}
TEXT_TINY = {**TEXT_2B, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2}
TEXT_TINY.update(num_attention_heads=4, max_position_embeddings=4096)
TEXT_TINY["rope_scaling"] = {"type": "mrope", "mrope_section": [2, 3, 3]}
VISION_TINY = {**VISION_2B, "depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 4}
# Qwen2-VL-2B-Instruct's preprocessor_config.json.
PREPROCESSOR: dict[str, Any] = {
    "min_pixels": 3136,
    "max_pixels": 12845056,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor",
    "processor_class": "Qwen2VLProcessor",
}
GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model_merged")


def config_json(tiny: bool) -> dict[str, Any]:
    return {
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "model_type": "qwen2_vl",
        **(TEXT_TINY if tiny else TEXT_2B),
        "hidden_act": "silu",
        "bos_token_id": ENDOFTEXT,
        "eos_token_id": IM_END,
        "vision_start_token_id": VISION_START,
        "vision_end_token_id": VISION_START + 1,
        "vision_token_id": VISION_START + 2,
        "image_token_id": IMAGE_PAD,
        "video_token_id": IMAGE_PAD + 1,
        "vision_config": VISION_TINY if tiny else VISION_2B,
    }


def write_side_files(folder: Path, tiny: bool) -> None:
    """config, generation, preprocessor and tokenizer files (the test suite's Qwen tokenizer
    and Qwen2-VL chat template)."""
    from llm_support.qwen_tokenizer_json import build_tokenizer_json
    from llm_support.tiny_qwen2_vl import tokenizer_config

    folder.mkdir(parents=True, exist_ok=True)
    config = config_json(tiny)
    files = {
        "config.json": config,
        "generation_config.json": {
            "bos_token_id": ENDOFTEXT,
            "eos_token_id": [IM_END, ENDOFTEXT],
            "pad_token_id": ENDOFTEXT,
            "do_sample": False,
        },
        "preprocessor_config.json": PREPROCESSOR,
        "tokenizer_config.json": {
            **tokenizer_config(),
            "model_max_length": config["max_position_embeddings"],
        },
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    build_tokenizer_json(folder / "tokenizer.json", qwen3=False)


def export_step(cache: Path, tiny: bool, seed: int = 15) -> None:
    """``cache/hf`` (the checkpoint) and ``cache/raw/<graph>/onnx/<graph>.onnx`` (float32)."""
    import torch
    from llm_support.vl_export import export_three_graphs
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    torch.manual_seed(seed)
    config = Qwen2VLConfig(**config_json(tiny))  # type: ignore[no-untyped-call]
    model = Qwen2VLForConditionalGeneration(config)  # type: ignore[no-untyped-call]
    model.eval()  # type: ignore[no-untyped-call]
    with torch.no_grad():
        # Special ids score 0 while ordinary ones reach ~4 sigma: no stop token ends a run.
        model.lm_head.weight[FIRST_SPECIAL:] = 0.0
    hf = cache / "hf"
    model.save_pretrained(hf, max_shard_size="1GB")
    write_side_files(hf, tiny)
    for graph in GRAPHS:
        if graph == "decoder_model_merged":
            model.model.visual = None  # 2.7 GB the decoder's trace does not need
            gc.collect()
        export_three_graphs(model, cache / "raw" / graph, graphs=(graph,), external_data=True)


def gemm_to_matmul(model: Any) -> int:
    """Each ``Gemm`` with a constant B (how the exporter writes ``nn.Linear`` on 2-D input:
    the vision tower's) as ``MatMul`` + ``Add``, B transposed, so the quantizer, which takes
    MatMuls only, reaches it as it reaches onnx-community's vision encoder.  Returns how many."""
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {tensor.name: tensor for tensor in graph.initializer}
    nodes, rewritten = [], 0
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        plain = attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0
        if (
            node.op_type != "Gemm"
            or node.input[1] not in weights
            or attrs.get("transA", 0)
            or not plain
        ):
            nodes.append(node)
            continue
        if attrs.get("transB", 0):
            tensor = weights[node.input[1]]
            array = numpy_helper.to_array(tensor).T.copy()
            tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))
        biased = len(node.input) > 2 and node.input[2] != ""
        product = node.output[0] + "_matmul" if biased else node.output[0]
        nodes.append(helper.make_node("MatMul", node.input[:2], [product], name=node.name + "_mm"))
        if biased:
            add = helper.make_node("Add", [product, node.input[2]], [node.output[0]])
            add.name = node.name + "_add"
            nodes.append(add)
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return rewritten


def quantize_step(cache: Path, folder: Path, tiny: bool) -> None:
    """``folder/onnx/<graph>_q4.onnx`` from the raw graphs, one graph in memory at a time."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    (folder / "onnx").mkdir(parents=True, exist_ok=True)
    for graph in GRAPHS:
        model = onnx.load(str(cache / "raw" / graph / "onnx" / f"{graph}.onnx"))
        gemm_to_matmul(model)
        quantizer = MatMulNBitsQuantizer(model, block_size=BLOCK_SIZE, is_symmetric=True)
        quantizer.process()
        quantized = quantizer.model.model
        del model, quantizer
        gc.collect()
        path = folder / "onnx" / f"{graph}_q4.onnx"
        big = quantized.ByteSize() > 1_800_000_000  # protobuf's limit is 2 GB
        onnx.save_model(
            quantized,
            str(path),
            save_as_external_data=big,
            all_tensors_to_one_file=True,
            location=f"{graph}_q4.onnx_data",
        )
        del quantized
        gc.collect()
    write_side_files(folder, tiny)


def remove_intermediates(cache: Path) -> None:
    """The float32 graphs (9 GB at full size) are only the quantizer's input."""
    shutil.rmtree(cache / "raw", ignore_errors=True)


def int4_embeddings_step(source: Path, folder: Path) -> None:
    """``folder``: ``source``'s q4 model with its token embedding int4 as well (onnxruntime's
    quantizer on the Gather: GatherBlockQuantized, block 32 along the hidden axis), which the
    published q4 files do not do; the other files are hard links (ONNX Runtime refuses weights
    reached through a symbolic link out of the model's folder)."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    (folder / "onnx").mkdir(parents=True, exist_ok=True)
    for path in source.rglob("*"):
        target = folder / path.relative_to(source)
        if path.is_file() and path.name != "embed_tokens_q4.onnx" and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.hardlink_to(path)
            except OSError:
                shutil.copyfile(path, target)
    model = onnx.load(str(source / "onnx" / "embed_tokens_q4.onnx"))
    quantizer = MatMulNBitsQuantizer(
        model,
        block_size=BLOCK_SIZE,
        is_symmetric=True,
        op_types_to_quantize=("Gather",),
        quant_axes=(("Gather", 1),),
    )
    quantizer.process()
    onnx.save_model(quantizer.model.model, str(folder / "onnx" / "embed_tokens_q4.onnx"))
