"""The engine's performance paths change no result: the load-time LM-head pruning, the shared
KV buffer that grows on demand, the reused IO binding, and token-id prompts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from glasses.llm import (
    ChatMessage,
    ChatPrompt,
    ContextOverflowError,
    EngineConfig,
    GenerationOptions,
    LlmEngine,
    SamplingConfig,
    SessionConfig,
)
from glasses.llm.graph_rewrite import LAST_HIDDEN, prune_lm_head
from glasses.llm.kv_cache import SharedBufferKv
from glasses.llm.session import session_options

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
from llm_support.zoo import MODEL_KEYS  # noqa: E402

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel

pytestmark = pytest.mark.model

GREEDY = SamplingConfig(greedy=True)
CHAT = [
    ChatMessage("system", "You are a helpful assistant on smart glasses."),
    ChatMessage("user", "What does the sign say? 这个标志写的是什么？"),
]
Engines = Callable[[str], Any]


def greedy(max_new_tokens: int = 12) -> GenerationOptions:
    return GenerationOptions(max_new_tokens=max_new_tokens, sampling=GREEDY)


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_pruned_lm_head_scores_the_last_position_exactly(
    llm_zoo: dict[str, BuiltModel], llm_engine: Engines, key: str
) -> None:
    built = llm_zoo[key]
    pruned: LlmEngine = llm_engine(key)
    assert pruned.info.last_position_logits
    full = LlmEngine.load(built.path, EngineConfig(variant=built.variant, prune_lm_head=False))
    assert not full.info.last_position_logits
    prompt = list(pruned.render(CHAT).ids)
    logits = []
    for engine in (pruned, full):
        kv = engine._runner.new_cache(engine.info.context_tokens)
        logits.append(engine._runner.forward(prompt, kv, engine._runner.new_run_options()))
    np.testing.assert_allclose(logits[0], logits[1], rtol=0, atol=1e-4)
    assert pruned.generate(CHAT, greedy()).token_ids == full.generate(CHAT, greedy()).token_ids


def test_rewritten_graph_keeps_weights_where_they_are(llm_zoo: dict[str, BuiltModel]) -> None:
    """Embedded weights become references into the .onnx file itself: the rewritten model is
    the graph alone, and it is valid ONNX with the Gather in front of the LM head."""
    path = llm_zoo["genai-qwen3-int4"].path / "model.onnx"  # int4, weights embedded
    rewritten = prune_lm_head(path)
    assert rewritten is not None
    assert len(rewritten) < path.stat().st_size / 20
    model = onnx.load_model_from_string(rewritten)
    external = [t for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert external and all(
        {e.key: e.value for e in t.external_data}["location"] == "model.onnx" for t in external
    )
    head = next(n for n in model.graph.node if "logits" in n.output)
    assert head.input[0] == LAST_HIDDEN
    dims = model.graph.output[0].type.tensor_type.shape.dim
    assert model.graph.output[0].name == "logits" and dims[1].dim_value == 1
    # Already pruned: left alone.
    pruned_path = path.parent.parent / "pruned.onnx"
    onnx.save_model(model, str(pruned_path))
    assert prune_lm_head(pruned_path) is None


def test_unrecognised_files_are_left_alone(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff" * 64)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    no_logits = tmp_path / "no_logits.onnx"
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    onnx.save_model(onnx.helper.make_model(graph), str(no_logits))
    for path in (garbage, empty, no_logits, tmp_path / "missing.onnx"):
        assert prune_lm_head(path) is None


def test_shared_kv_buffer_grows_on_demand_and_keeps_the_prefix(
    llm_zoo: dict[str, BuiltModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    built = llm_zoo["genai-qwen2-int4"]
    plain = LlmEngine.load(built.path, EngineConfig(prefix_cache=False, prefill_chunk_tokens=7))
    # Tiny growth steps: every request reallocates (and copies) the buffers several times.
    monkeypatch.setattr(SharedBufferKv, "GROWTH_QUANTUM", 8)
    growing = LlmEngine.load(built.path, EngineConfig(prefill_chunk_tokens=7))
    kv = growing._kv
    assert isinstance(kv, SharedBufferKv) and kv.size == 0  # nothing reserved before a request
    other = [ChatMessage("system", "Answer in Chinese."), CHAT[1]]
    for messages, new_tokens in ((CHAT, 5), (CHAT, 30), (other, 9), (CHAT, 40), (CHAT, 3)):
        want = plain.generate(messages, greedy(new_tokens)).token_ids
        got = growing.generate(messages, greedy(new_tokens))
        assert got.token_ids == want
        assert kv.size <= kv.capacity
    assert got.timings is not None and got.timings.cached_prompt_tokens > 0
    # A short request on a big context reserves what it needs, not the context.
    assert kv.capacity == 512 and kv.size < 128


def test_stream_prompt_takes_token_ids(llm_engine: Engines) -> None:
    engine: LlmEngine = llm_engine("optimum-qwen3-int4")
    prompt = engine.render(CHAT)
    stream = engine.stream_prompt(prompt, greedy(6))
    assert "".join(stream) == stream.result.text
    assert stream.result.token_ids == engine.generate(CHAT, greedy(6)).token_ids
    with pytest.raises(ValueError, match="start with"):
        engine.stream_prompt(ChatPrompt((1, 2), (2, 1, 3)), greedy(1))
    with pytest.raises(ContextOverflowError):
        engine.stream_prompt(ChatPrompt((), ()), greedy(1))
    with pytest.raises(ContextOverflowError):
        engine.stream_prompt(ChatPrompt((), (5,) * engine.info.context_tokens), greedy(1))


def test_threads_spin_by_default() -> None:
    options = session_options(SessionConfig())
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    strict = session_options(SessionConfig(stop_spinning_after_run=True))
    assert strict.get_session_config_entry("session.force_spinning_stop") == "1"
    quiet = session_options(SessionConfig(allow_spinning=False))
    assert quiet.get_session_config_entry("session.intra_op.allow_spinning") == "0"
