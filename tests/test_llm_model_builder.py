"""The test-model builder writes the real file and graph contracts, and its numpy reference
reproduces the ONNX graphs.

Tolerance: logits of a full prompt agree with the float64 numpy reference to 1e-3 absolute
(observed ~5e-5 for fp32; int4 models are compared with the reference fed the dequantised
weights and int8-quantised activations of MatMulNBits accuracy level 4, observed ~2e-5).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from llm_support import reference  # noqa: E402
from llm_support.folders import BuiltModel  # noqa: E402
from llm_support.zoo import MODEL_KEYS  # noqa: E402

pytestmark = pytest.mark.model

LOGITS_ATOL = 1e-3
PROMPT = [
    151644,
    8948,
    198,
    2610,
    525,
    264,
    10950,
    17847,
    13,
    151645,
    198,
    151644,
    872,
    198,
    108386,
    3837,
    101999,
    0,
    151645,
    198,
    151644,
    77091,
    198,
]


def onnx_path(built: BuiltModel) -> Path:
    if built.path.joinpath("genai_config.json").is_file():
        return built.path / "model.onnx"
    return built.path / "onnx" / (f"model_{built.variant}.onnx" if built.variant else "model.onnx")


def test_optimum_folder_layout(llm_zoo: dict[str, BuiltModel]) -> None:
    root = llm_zoo["optimum-qwen3-fp32"].path
    for name in (
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "onnx/model.onnx",
        "onnx/model.onnx_data",
        "onnx/model_q4.onnx",
    ):
        assert (root / name).is_file(), name
    config = json.loads((root / "config.json").read_text())
    assert config["model_type"] == "qwen3" and config["head_dim"] == 32
    assert config["vocab_size"] == 151936 and config["tie_word_embeddings"] is True
    assert (
        "enable_thinking"
        in json.loads((root / "tokenizer_config.json").read_text())["chat_template"]
    )

    model = onnx.load(str(root / "onnx" / "model.onnx"), load_external_data=False)
    inputs = {i.name: i for i in model.graph.input}
    assert list(inputs)[:3] == ["input_ids", "attention_mask", "position_ids"]
    assert all(
        inputs[n].type.tensor_type.elem_type == onnx.TensorProto.INT64
        for n in ("input_ids", "attention_mask", "position_ids")
    )
    past = inputs["past_key_values.1.value"].type.tensor_type.shape.dim
    assert [d.dim_value or d.dim_param for d in past] == [
        "batch_size",
        2,
        "past_sequence_length",
        32,
    ]
    assert [o.name for o in model.graph.output] == [
        "logits",
        "present.0.key",
        "present.0.value",
        "present.1.key",
        "present.1.value",
    ]


def test_genai_folder_layout(llm_zoo: dict[str, BuiltModel]) -> None:
    root = llm_zoo["genai-qwen2-fp32"].path
    assert (root / "model.onnx.data").is_file()
    config = json.loads((root / "genai_config.json").read_text())
    assert config["model"]["type"] == "qwen2"
    assert config["model"]["decoder"]["inputs"]["past_key_names"] == "past_key_values.%d.key"
    assert config["search"]["past_present_share_buffer"] is True
    model = onnx.load(str(root / "model.onnx"), load_external_data=False)
    assert [i.name for i in model.graph.input][:2] == ["input_ids", "attention_mask"]
    assert "position_ids" not in {i.name for i in model.graph.input}
    gqa = [n for n in model.graph.node if n.op_type == "GroupQueryAttention"]
    assert len(gqa) == 2 and all(n.domain == "com.microsoft" for n in gqa)
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in gqa[0].attribute}
    assert attrs["do_rotary"] == 1 and attrs["num_heads"] == 4 and attrs["kv_num_heads"] == 2
    assert list(gqa[0].input[5:9]) == [
        "/model/attn_mask_reformat/attn_mask_subgraph/Sub/Cast/output_0",
        "/model/attn_mask_reformat/attn_mask_subgraph/Gather/Cast/output_0",
        "cos_cache",
        "sin_cache",
    ]


@pytest.mark.parametrize("key", ["optimum-qwen2-int4", "genai-qwen3-int4"])
def test_int4_models_use_matmulnbits_block_32(llm_zoo: dict[str, BuiltModel], key: str) -> None:
    model = onnx.load(str(onnx_path(llm_zoo[key])))
    nbits = [n for n in model.graph.node if n.op_type == "MatMulNBits"]
    assert len(nbits) == 2 * 7 + 1  # q, k, v, o, gate, up, down per layer + lm_head
    for node in nbits:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["bits"] == 4 and attrs["block_size"] == 32 and attrs["accuracy_level"] == 4
    assert not [
        n
        for n in model.graph.node
        if n.op_type == "MatMul" and n.input[1] in {i.name for i in model.graph.initializer}
    ]


def run_prompt(built: BuiltModel, ids: list[int]) -> np.ndarray:
    session = ort.InferenceSession(str(onnx_path(built)), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    cfg = built.cfg
    feeds: dict[str, np.ndarray] = {
        "input_ids": np.array([ids], dtype=np.int64),
        "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
    }
    if "position_ids" in names:
        feeds["position_ids"] = np.arange(len(ids), dtype=np.int64)[None]
    empty = np.zeros((1, cfg.num_key_value_heads, 0, cfg.head_dim), dtype=np.float32)
    for i in range(cfg.num_hidden_layers):
        feeds[f"past_key_values.{i}.key"] = feeds[f"past_key_values.{i}.value"] = empty
    return np.asarray(session.run(["logits"], feeds)[0][0])


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_numpy_reference_reproduces_the_graph(llm_zoo: dict[str, BuiltModel], key: str) -> None:
    built = llm_zoo[key]
    if built.act_block and not reference.exact_int4_logits_supported():
        pytest.skip("int8 activation emulation follows x86 MLAS kernels of onnxruntime >= 1.30")
    got = run_prompt(built, PROMPT)
    want = reference.logits(built.cfg, built.weights, PROMPT, built.act_block)
    assert got.shape == (len(PROMPT), 151936)
    np.testing.assert_allclose(got, want, rtol=0, atol=LOGITS_ATOL)


@pytest.mark.parametrize("key", ["optimum-qwen2-fp32", "optimum-qwen3-fp32"])
def test_random_weights_are_not_degenerate(llm_zoo: dict[str, BuiltModel], key: str) -> None:
    """Greedy continuations depend on the prompt and do not just echo the last token."""
    built = llm_zoo[key]
    prompts = [PROMPT, [*PROMPT[:14], 9707, 1879, 0, *PROMPT[-5:]], [9707, 11, 1879]]
    continuations = []
    for prompt in prompts:
        ids = list(prompt)
        for _ in range(6):
            ids.append(int(np.argmax(reference.logits(built.cfg, built.weights, ids)[-1][:151669])))
        new = ids[len(prompt) :]
        assert any(t != prompt[-1] for t in new)
        assert len(set(new)) >= 3
        continuations.append(tuple(new))
    assert len(set(continuations)) == len(prompts)
