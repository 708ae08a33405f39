"""The engine on every test model: greedy output equals the numpy reference, the prefix cache
and chunked prefill change nothing, and streaming, stops, cancellation and deadlines behave.

Numerics check: the engine's greedy tokens are compared with a float64 numpy reference of the
same weights, teacher-forced on the engine's tokens.  Each token must be the reference argmax
unless the reference's top-two gap is below 1e-3 (a tie at the ONNX float32 precision).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from glasses.llm import (
    CancelToken,
    ChatMessage,
    EngineConfig,
    GenerationOptions,
    LlmEngine,
    SamplingConfig,
)
from glasses.llm.generator import DecodeJob, common_prefix

pytest.importorskip("onnxruntime")
from llm_support import reference
from llm_support.zoo import MODEL_KEYS

pytestmark = pytest.mark.model

GREEDY = SamplingConfig(greedy=True)
TIE_GAP = 1e-3
CHAT = [
    ChatMessage("system", "You are a helpful assistant on smart glasses."),
    ChatMessage("user", "What does the sign say? 这个标志写的是什么？"),
]

Engines = Callable[[str], Any]

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel


def greedy(max_new_tokens: int = 12, **kwargs: Any) -> GenerationOptions:
    return GenerationOptions(max_new_tokens=max_new_tokens, sampling=GREEDY, **kwargs)


def assert_matches_reference(built: BuiltModel, prompt: tuple[int, ...], tokens: list[int]) -> None:
    logits = reference.logits(built.cfg, built.weights, [*prompt, *tokens], built.act_block)
    for step, token in enumerate(tokens):
        scores = logits[len(prompt) - 1 + step][:151669]  # the tokenizer's ids only
        best = int(np.argmax(scores))
        assert token == best or scores[best] - scores[token] < TIE_GAP, (step, token, best)


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_greedy_generation_equals_numpy_reference(
    llm_zoo: dict[str, BuiltModel], llm_engine: Engines, key: str
) -> None:
    built = llm_zoo[key]
    if built.act_block and not reference.exact_int4_supported():
        pytest.skip("int8 activation emulation is specific to x86 MLAS kernels")
    engine: LlmEngine = llm_engine(key)
    assert engine.info.quantized == (built.act_block is not None)
    assert engine.info.layout == key.split("-")[0]
    result = engine.generate(CHAT, greedy(16))
    assert result.finish_reason == "max_new_tokens" and len(result.token_ids) == 16
    assert_matches_reference(built, engine.render(CHAT).ids, result.token_ids)


@pytest.mark.parametrize("key", ["optimum-qwen3-fp32", "genai-qwen2-int4"])
def test_prefix_cache_and_chunked_prefill_change_nothing(
    llm_zoo: dict[str, BuiltModel], llm_engine: Engines, key: str
) -> None:
    built = llm_zoo[key]
    plain = LlmEngine.load(
        built.path, EngineConfig(variant=built.variant, prefix_cache=False, prefill_chunk_tokens=5)
    )
    cached: LlmEngine = llm_engine(key)
    other = [ChatMessage("system", "Answer in Chinese."), CHAT[1]]
    no_system = [CHAT[1]]
    # Cache A, reuse A, switch to B (the shared genai buffer is overwritten), back to A.
    for messages in (CHAT, CHAT, other, no_system, CHAT, CHAT):
        want = plain.generate(messages, greedy(8))
        got = cached.generate(messages, greedy(8))
        assert got.token_ids == want.token_ids
        assert want.timings is not None and want.timings.cached_prompt_tokens == 0
    second = cached.generate(CHAT, greedy(8))
    assert second.timings is not None  # the same prompt again: all but its last token reused
    assert second.timings.cached_prompt_tokens == len(cached.render(CHAT).ids) - 1


def counted_forwards(engine: LlmEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of tokens of each forward pass the engine runs from now on."""
    runner, sizes = engine._runner, []
    real = runner.forward

    def forward(ids: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(ids))
        return real(ids, *args, **kwargs)

    monkeypatch.setattr(runner, "forward", forward)
    return sizes


@pytest.mark.parametrize("key", ["genai-qwen2-fp32", "optimum-qwen3-fp32"])
@pytest.mark.parametrize("system", [True, False])
def test_a_chat_turn_computes_only_its_new_tokens(
    llm_zoo: dict[str, BuiltModel], key: str, system: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The KV of the last generation (prompt and answer) is reused up to the longest common
    token prefix, whatever turn it ends in, with or without a system prompt: turn N runs only
    the tokens after the previous turn's answer, and gives the no-cache engine's tokens."""
    built = llm_zoo[key]
    config = EngineConfig(variant=built.variant, prefill_chunk_tokens=16)
    engine = LlmEngine.load(built.path, config)
    plain = LlmEngine.load(built.path, dataclasses.replace(config, prefix_cache=False))
    sizes = counted_forwards(engine, monkeypatch)
    history = list(CHAT if system else CHAT[1:])
    previous: tuple[int, ...] = ()
    for turn in range(5):
        prompt = engine.render(history).ids
        sizes.clear()
        got = engine.generate(history, greedy(6))
        want = plain.generate(history, greedy(6))
        assert got.token_ids == want.token_ids, turn
        assert got.timings is not None
        computed = len(prompt) - got.timings.cached_prompt_tokens
        # The prompt part of the forward passes (the rest are the 5 decode steps).
        assert sum(sizes) - (len(got.token_ids) - 1) == computed
        if turn:  # Qwen3's template drops the empty <think></think> (4 tokens) from history
            shared = common_prefix(previous, prompt)
            assert shared >= len(previous) - (4 if "qwen3" in key else 0)
            assert got.timings.cached_prompt_tokens >= shared
        previous = prompt
        history += [ChatMessage("assistant", got.text), ChatMessage("user", f"Turn {turn}?")]


def test_multi_turn_history(llm_zoo: dict[str, BuiltModel], llm_engine: Engines) -> None:
    built = llm_zoo["genai-qwen3-fp32"]
    engine: LlmEngine = llm_engine("genai-qwen3-fp32")
    first = engine.generate(CHAT, greedy(4))
    history = [*CHAT, ChatMessage("assistant", first.text), ChatMessage("user", "And now?")]
    second = engine.generate(history, greedy(6))
    assert_matches_reference(built, engine.render(history).ids, second.token_ids)


@pytest.mark.parametrize("key", ["optimum-qwen2-fp32", "genai-qwen3-int4"])
def test_stream_deltas_concatenate_to_the_text(llm_engine: Engines, key: str) -> None:
    engine: LlmEngine = llm_engine(key)
    stream = engine.stream(CHAT, greedy(40))
    deltas = list(stream)
    result = stream.result
    assert "".join(deltas) == result.text == engine.tokenizer.decode(result.token_ids)
    assert all(deltas) and all(d.encode("utf-8") for d in deltas)  # no lone surrogates
    assert any(ord(ch) > 0x2E80 for ch in result.text), "expected CJK text from this model"


def test_sampling_is_seeded_and_follows_the_model_defaults(llm_engine: Engines) -> None:
    engine: LlmEngine = llm_engine("optimum-qwen2-int4")
    assert engine.default_sampling == SamplingConfig(
        greedy=False, temperature=0.7, top_k=20, top_p=0.8, repetition_penalty=1.05
    )
    options = GenerationOptions(
        max_new_tokens=10,
        sampling=SamplingConfig(
            temperature=1.5, top_k=50, top_p=0.95, repetition_penalty=1.1, seed=7
        ),
    )
    a, b = engine.generate(CHAT, options), engine.generate(CHAT, options)
    assert a.token_ids == b.token_ids
    assert a.token_ids != engine.generate(CHAT, greedy(10)).token_ids


def test_stop_string_ends_generation_before_it(llm_engine: Engines) -> None:
    engine: LlmEngine = llm_engine("genai-qwen2-fp32")
    full = engine.generate(CHAT, greedy(20)).text
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    result = engine.generate(CHAT, greedy(20, stop_strings=("never-there", stop)))
    assert result.finish_reason == "stop_string"
    assert result.text == full[: full.index(stop)]


def test_eos_token_stops(llm_zoo: dict[str, BuiltModel], llm_engine: Engines) -> None:
    import dataclasses

    engine: LlmEngine = llm_engine("optimum-qwen3-fp32")
    tokens = engine.generate(CHAT, greedy(6)).token_ids
    folder = dataclasses.replace(engine.folder, eos_token_ids=(tokens[3],))
    stopping = LlmEngine(folder, engine.config)
    result = stopping.generate(CHAT, greedy(6))
    assert result.finish_reason == "eos" and result.token_ids == tokens[:3]


def test_cancel_from_another_thread_stops_within_one_token(llm_engine: Engines) -> None:
    engine: LlmEngine = llm_engine("genai-qwen3-fp32")
    cancel = CancelToken()
    stream = engine.stream(CHAT, greedy(50), cancel)
    at_cancel = -1
    for _ in stream:
        if at_cancel < 0 and len(stream.result.token_ids) >= 3:
            at_cancel = len(stream.result.token_ids)
            worker = threading.Thread(target=cancel.cancel)
            worker.start()
            worker.join()
    assert stream.result.finish_reason == "cancelled"
    assert at_cancel <= len(stream.result.token_ids) <= at_cancel + 1


def test_cancel_aborts_a_running_forward_pass(
    llm_engine: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel that lands while ORT is inside a run terminates that run (RunOptions)."""
    engine: LlmEngine = llm_engine("optimum-qwen2-fp32")
    # The cache then holds the prompt whatever ran before (alone, the system turn would be a
    # pass of its own): the prefill is one pass, the third run the second decode step.
    engine.generate(CHAT, greedy(1))
    cancel = CancelToken()
    runner = engine._runner
    real_forward = runner.forward
    calls = []

    def forward(ids: Any, kv: Any, run_options: Any, **kwargs: Any) -> Any:
        calls.append(len(ids))
        if len(calls) == 3:
            cancel.cancel()  # as if another thread pressed "stop" just now
            assert run_options.terminate
        return real_forward(ids, kv, run_options, **kwargs)

    monkeypatch.setattr(runner, "forward", forward)
    result = engine.generate(CHAT, greedy(20), cancel)
    assert result.finish_reason == "cancelled"
    assert len(result.token_ids) == 2  # the third run (second decode step) never finished


def test_deadline(llm_engine: Engines, monkeypatch: pytest.MonkeyPatch) -> None:
    engine: LlmEngine = llm_engine("genai-qwen2-int4")
    assert engine.generate(CHAT, greedy(5, timeout_s=0.0)).token_ids == []
    clock = iter(float(i) for i in range(1000))
    monkeypatch.setattr("glasses.llm.generator.time.monotonic", lambda: next(clock))
    result = engine.generate(CHAT, greedy(50, timeout_s=12.0))
    assert result.finish_reason == "deadline"
    assert 0 < len(result.token_ids) < 50


def test_deadline_is_checked_between_prefill_chunks(
    llm_zoo: dict[str, BuiltModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each 4-token chunk of a long prompt "takes" 10 s (time as data): a 15 s deadline ends
    the generation after at most one more chunk, not after the whole prefill."""
    built = llm_zoo["genai-qwen2-int4"]
    engine = LlmEngine.load(built.path, EngineConfig(prefill_chunk_tokens=4, prefix_cache=False))
    now = [0.0]
    monkeypatch.setattr("glasses.llm.generator.time.monotonic", lambda: now[0])
    runner = engine._runner
    real = runner.forward
    chunks = []

    def forward(ids: Any, *args: Any, **kwargs: Any) -> Any:
        chunks.append(len(ids))
        now[0] += 10.0
        return real(ids, *args, **kwargs)

    monkeypatch.setattr(runner, "forward", forward)
    result = engine.generate(CHAT, greedy(5, timeout_s=15.0))
    assert len(engine.render(CHAT).ids) > 8 * 4
    assert result.finish_reason == "deadline" and result.token_ids == []
    assert chunks == [4, 4]  # 0 s: run; 10 s: run; 20 s > 15 s: stop before the third


def test_deadline_aborts_a_running_prefill_pass(
    llm_zoo: dict[str, BuiltModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole prompt is one pass that starts only once the deadline has fired (it waits
    for the deadline timer): the timer terminates that pass in onnxruntime, so the
    generation ends at its deadline rather than after the pass."""
    built = llm_zoo["genai-qwen2-int4"]
    engine = LlmEngine.load(built.path, EngineConfig(prefix_cache=False))
    fired = threading.Event()
    real_expire = DecodeJob._expire

    def expire(job: DecodeJob, run_options: Any) -> None:
        real_expire(job, run_options)
        fired.set()

    monkeypatch.setattr(DecodeJob, "_expire", expire)
    runner = engine._runner
    real = runner.forward
    seen: list[str] = []

    def forward(ids: Any, kv: Any, run_options: Any, **kwargs: Any) -> Any:
        seen.append(f"fired={fired.wait(60)} terminate={run_options.terminate}")
        try:
            return real(ids, kv, run_options, **kwargs)
        except Exception:
            seen.append("aborted")
            raise

    monkeypatch.setattr(runner, "forward", forward)
    result = engine.generate(CHAT, greedy(5, timeout_s=0.01))
    assert seen == ["fired=True terminate=True", "aborted"]
    assert result.finish_reason == "deadline" and result.token_ids == []


def test_an_abandoned_stream_does_not_block_the_next_generation(
    llm_zoo: dict[str, BuiltModel], llm_engine: Engines
) -> None:
    """A stream started, read once and left referenced (never closed) holds no lock: the next
    generation runs at once (this test would hang otherwise), and the abandoned stream, read
    again later, still gives the tokens it would have given alone."""
    for key in ("genai-qwen3-fp32", "optimum-qwen2-fp32"):
        engine: LlmEngine = llm_engine(key)
        want = engine.generate(CHAT, greedy(10))
        other = [ChatMessage("user", "Something else entirely, please.")]
        want_other = engine.generate(other, greedy(10))
        abandoned = engine.stream(CHAT, greedy(10))
        next(abandoned)
        done = threading.Event()
        results: list[Any] = []

        def second() -> None:
            results.append(engine.generate(other, greedy(10)))  # noqa: B023
            done.set()  # noqa: B023

        worker = threading.Thread(target=second, daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert done.is_set(), "the second generation waited for the abandoned stream"
        assert results[0].token_ids == want_other.token_ids
        for _ in abandoned:  # resumed: its cache was overwritten and is recomputed
            pass
        assert abandoned.result.token_ids == want.token_ids
        assert abandoned.result.finish_reason == "max_new_tokens"


def test_streams_read_in_turn_give_their_own_tokens(llm_engine: Engines) -> None:
    engine: LlmEngine = llm_engine("genai-qwen2-fp32")
    prompts = [CHAT, [ChatMessage("user", "Tell me about the lake.")]]
    want = [engine.generate(p, greedy(8)).token_ids for p in prompts]
    streams = [engine.stream(p, greedy(8)) for p in prompts]
    pending = list(streams)
    while pending:
        for stream in list(pending):
            if next(stream, None) is None:
                pending.remove(stream)
    assert [s.result.token_ids for s in streams] == want


def test_context_window(llm_zoo: dict[str, BuiltModel]) -> None:
    from glasses.llm import ContextOverflowError

    built = llm_zoo["genai-qwen2-fp32"]
    engine = LlmEngine.load(built.path, EngineConfig(max_context_tokens=40))
    assert engine.info.context_tokens == 40
    result = engine.generate(CHAT, greedy(100))
    assert result.finish_reason == "context_length"
    assert len(engine.render(CHAT).ids) + len(result.token_ids) == 41  # last token needs no KV
    with pytest.raises(ContextOverflowError, match="40"):
        engine.generate([ChatMessage("user", "word " * 50)], greedy(1))


def test_timings_are_reported(llm_engine: Engines) -> None:
    result = llm_engine("optimum-qwen3-int4").generate(CHAT, greedy(8))
    t = result.timings
    assert t is not None and t.generated_tokens == 8 and t.prompt_tokens > 20
    assert t.time_to_first_token_s > 0 and t.prefill_tokens_per_s > 0 and t.decode_tokens_per_s > 0


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="max_new_tokens"):
        GenerationOptions(max_new_tokens=0)


def test_layout_follows_the_graph_not_the_folder(
    tmp_path: Any, llm_zoo: dict[str, BuiltModel], llm_engine: Engines
) -> None:
    """An Optimum graph dropped into a genai folder (which asks for a shared KV buffer) still
    runs with a growing cache, and gives the genai model's tokens: same weights."""
    import os

    genai, optimum = llm_zoo["genai-qwen2-fp32"].path, llm_zoo["optimum-qwen2-fp32"].path
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("genai_config.json", "tokenizer.json", "tokenizer_config.json"):
        os.link(genai / name, mixed / name)
    for name in ("model.onnx", "model.onnx_data"):
        os.link(optimum / "onnx" / name, mixed / name)
    engine = LlmEngine.load(mixed)
    assert engine.info.layout == "optimum"
    want = llm_engine("genai-qwen2-fp32").generate(CHAT, greedy(8)).token_ids
    assert engine.generate(CHAT, greedy(8)).token_ids == want


def test_importing_the_engine_loads_no_heavy_dependency() -> None:
    import subprocess
    import sys

    code = (
        "import sys, glasses.llm, glasses.commands.llm; "
        "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'onnx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
