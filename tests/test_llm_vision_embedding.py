"""Token embeddings of the vision-language engine: a plain ``Gather`` table is served from a
memory map of the file (never loaded into a session) with exactly the graph's numbers, in
float32, float16 and external-data files; any other ``embed_tokens`` graph runs as a session,
and the engine answers the same through either."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from glasses.llm import CorruptModelError, LlmError, SessionConfig, UnsupportedModelError
from glasses.llm.session import create_session
from glasses.llm.vision import VisionLlmEngine
from glasses.llm.vision.embedding import GraphEmbedding, MappedEmbedding, open_embedding
from glasses.onnx_wire.gather_table import plain_gather_table

pytestmark = pytest.mark.model

ROWS, HIDDEN = 300, 16
IDS = np.array([0, 5, 299, 5, 17, 128], dtype=np.int64)


def table(dtype: type = np.float32) -> np.ndarray:
    return np.random.default_rng(7).standard_normal((ROWS, HIDDEN)).astype(dtype)


def save_graph(
    path: Path, weights: np.ndarray, *, scale: float | None = None, external: bool = False
) -> Path:
    """``embed_tokens``: Gather(weights, input_ids), times ``scale`` when given."""
    elem = helper.np_dtype_to_tensor_dtype(weights.dtype)
    gathered = "inputs_embeds" if scale is None else "rows"
    nodes = [helper.make_node("Gather", ["embed.weight", "input_ids"], [gathered])]
    inits = [numpy_helper.from_array(weights, "embed.weight")]
    if scale is not None:
        nodes.append(helper.make_node("Mul", ["rows", "scale"], ["inputs_embeds"]))
        inits.append(numpy_helper.from_array(np.array(scale, dtype=weights.dtype), "scale"))
    graph = helper.make_graph(
        nodes,
        "embed_tokens",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("inputs_embeds", elem, ["batch", "seq", HIDDEN])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    # onnx writes its own newest IR (14 with onnx 1.23); onnxruntime 1.21, the declared floor
    # (scripts/check_floors.sh), reads up to 10.
    model.ir_version = 10
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path), save_as_external_data=external, location=f"{path.name}.data")
    return path


def graph_rows(path: Path, ids: np.ndarray) -> np.ndarray:
    session = create_session(path, SessionConfig())
    (out,) = session.run(["inputs_embeds"], {"input_ids": ids[None, :]})
    return np.asarray(out[0], dtype=np.float32)


@pytest.mark.parametrize(
    ("dtype", "external"), [(np.float32, False), (np.float32, True), (np.float16, False)]
)
def test_a_plain_table_is_memory_mapped_and_equals_the_graph(
    tmp_path: Path, dtype: type, external: bool
) -> None:
    path = save_graph(tmp_path / "embed_tokens.onnx", table(dtype), external=external)
    embedding = open_embedding(path, SessionConfig(), HIDDEN)
    assert isinstance(embedding, MappedEmbedding)
    assert embedding.table.path.name == (f"{path.name}.data" if external else path.name)
    rows = embedding.lookup(IDS, None)
    assert rows.dtype == np.float32
    assert np.array_equal(rows, graph_rows(path, IDS))
    assert np.array_equal(rows, table(dtype)[IDS].astype(np.float32))


def test_a_graph_that_is_more_than_a_gather_runs_as_a_session(tmp_path: Path) -> None:
    path = save_graph(tmp_path / "embed_tokens.onnx", table(), scale=2.0)
    assert plain_gather_table(path) is None
    embedding = open_embedding(path, SessionConfig(), HIDDEN)
    assert isinstance(embedding, GraphEmbedding)
    assert np.array_equal(embedding.lookup(IDS, None), table()[IDS] * 2)


def test_a_table_not_in_raw_bytes_runs_as_a_session(tmp_path: Path) -> None:
    path = save_graph(tmp_path / "embed_tokens.onnx", table())
    model = onnx.load(str(path))
    weights = model.graph.initializer[0]
    values = numpy_helper.to_array(weights)
    weights.ClearField("raw_data")
    weights.float_data.extend(values.ravel().tolist())  # float_data: a copy to decode
    onnx.save_model(model, str(path))
    assert plain_gather_table(path) is None
    embedding = open_embedding(path, SessionConfig(), HIDDEN)
    assert isinstance(embedding, GraphEmbedding)
    assert np.array_equal(embedding.lookup(IDS, None), table()[IDS])


def test_wrong_ids_widths_and_files_are_refused_with_what_is_wrong(tmp_path: Path) -> None:
    path = save_graph(tmp_path / "embed_tokens.onnx", table())
    embedding = open_embedding(path, SessionConfig(), HIDDEN)
    with pytest.raises(LlmError, match=r"token id 300 is outside .*300 rows"):
        embedding.lookup(np.array([1, ROWS], dtype=np.int64), None)
    with pytest.raises(UnsupportedModelError, match="16 values but the config's hidden_size"):
        open_embedding(path, SessionConfig(), HIDDEN * 2)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptModelError, match="truncated"):
        open_embedding(truncated, SessionConfig(), HIDDEN)


def test_the_engine_maps_the_table_and_answers_the_same_through_the_graph(
    vlm_folder: Path, tmp_path: Path
) -> None:
    from test_llm_vision import GREEDY, ask, picture

    engine = VisionLlmEngine.load(vlm_folder)
    assert isinstance(engine._embedding, MappedEmbedding)
    path = vlm_folder / "onnx" / "embed_tokens.onnx"
    every = np.arange(engine._embedding.table.rows, dtype=np.int64)
    assert np.array_equal(engine._embedding.lookup(every, None), graph_rows(path, every))
    # The same table behind a Mul by one: the graph path, and the same answer.
    scaled = shutil.copytree(vlm_folder, tmp_path / "scaled")
    weights = numpy_helper.to_array(onnx.load(str(path)).graph.initializer[0])
    save_graph(scaled / "onnx" / "embed_tokens.onnx", weights, scale=1.0)
    other = VisionLlmEngine.load(scaled)
    assert isinstance(other._embedding, GraphEmbedding)
    messages = ask(picture(4))
    assert other.generate(messages, GREEDY).token_ids == engine.generate(messages, GREEDY).token_ids
