#!/usr/bin/env python3
"""LLM engine benchmark: glasses' engine and onnxruntime-genai on the same int4 model file.

    nice python scripts/bench_llm.py --rounds 3 --json out.json   # the docs/benchmarks.md run
    python scripts/bench_llm.py --tiny --json out.json           # smoke run: 2 layers, few tokens

The model has the real Qwen2.5-0.5B-Instruct dimensions (24 layers, hidden 896, 14 query and
2 KV heads of 64, MLP 4864, vocabulary 151,936, tied embeddings) and random weights, so no
download is needed.  It is written as a Hugging Face checkpoint and converted by the real
onnxruntime-genai model builder (``-p int4 -e cpu``, block 32, accuracy level 4, the LM head
quantised too, every other option at its default), so both engines run the very same file.
Both are cached under ``--cache`` (default ``/tmp/glasses-bench-llm``); the build takes about a
minute and needs torch and transformers besides onnxruntime-genai.

Each engine runs in its own subprocess (a clean peak RSS, read from ``VmHWM``) on the same
token ids, greedy, with the same context length (``--context``): glasses with its defaults,
genai with its defaults, and genai with ``intra_op_num_threads`` set to glasses' thread count
(one per physical core).  ``--rounds`` runs them all that often, interleaved, and keeps the
best of each figure (a shared machine's busy spells then hit every engine).  Measured:

- prefill tokens/s for prompts of 64, 256 and 1024 tokens (no cached prefix);
- decode tokens/s over 128 tokens after a 64-token prompt;
- time to first token for a 30-token user turn after a 300-token system prompt: without any
  cache, and with the system prompt cached (glasses: its prefix cache; genai: one generator
  kept at the system prompt, ``rewind_to`` before each turn);
- peak RSS over the whole run, and RSS after loading;
- Python overhead of glasses per decoded token: time outside ``session.run`` / total.

The main process measures memory bandwidth (numpy copies, read + write counted, 1 thread and
one per core) and derives the decode ceiling: the bandwidth divided by the bytes one decode step
reads (every weight a MatMul consumes, the LM head included, plus the KV cache; not the rows
gathered from the embedding table and the rotary caches).  Each goal of the engine's issue is
then judged against the better genai configuration.

With ``--tiny`` and no onnxruntime-genai (or no torch for its builder), the model comes from
the test suite's own genai-layout builder and only glasses is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "tests"):  # run as a plain script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

# Qwen2.5-0.5B-Instruct's config.json, minus the weights.
QWEN25_05B: dict[str, Any] = {
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "head_dim": 64,
    "vocab_size": 151936,
    "max_position_embeddings": 32768,
    "tie_word_embeddings": True,
}
TINY = {**QWEN25_05B, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2}
TINY.update(num_attention_heads=4, head_dim=16, max_position_embeddings=2048)
BLOCK_SIZE, ACCURACY_LEVEL = 32, 4
FIRST_SPECIAL = 151643  # <|endoftext|>; ids below are ordinary text tokens
IM_START, IM_END, NEWLINE = 151644, 151645, 198


@dataclass(frozen=True)
class Plan:
    """What each worker runs; both get the same one."""

    prompt_lengths: tuple[int, ...] = (64, 256, 1024)
    decode_tokens: int = 128
    decode_prompt: int = 64
    system_tokens: int = 300
    user_tokens: int = 30
    context: int = 2048
    reps: int = 2
    seed: int = 7

    def prompt(self, length: int, salt: int = 0) -> list[int]:
        rng = np.random.default_rng([self.seed, length, salt])
        return [int(t) for t in rng.integers(0, FIRST_SPECIAL, size=length)]

    def system_ids(self) -> list[int]:
        """A ChatML system turn of exactly ``system_tokens`` ids."""
        body = self.prompt(self.system_tokens - 4, salt=1)
        return [IM_START, *body, IM_END, NEWLINE]

    def user_ids(self, turn: int) -> list[int]:
        """A user turn plus the assistant header: ``user_tokens`` ids in all."""
        body = self.prompt(self.user_tokens - 6, salt=100 + turn)
        return [IM_START, *body, IM_END, NEWLINE, IM_START, NEWLINE]


# --- the model -------------------------------------------------------------------------------


def model_name(tiny: bool) -> str:
    return "qwen2-tiny" if tiny else "qwen2.5-0.5b-shape"


def write_checkpoint(folder: Path, tiny: bool) -> None:
    """A Hugging Face Qwen2 checkpoint with the test suite's random initialisation (large
    enough that greedy decoding does not just echo), special tokens never predicted."""
    from llm_support.qwen_tokenizer_json import build_tokenizer_json
    from llm_support.tiny_qwen import (
        TinyQwenConfig,
        generation_config,
        hf_config,
        random_weights,
        tokenizer_config,
    )
    from safetensors.numpy import save_file

    cfg = TinyQwenConfig(model_type="qwen2", seed=25, **(TINY if tiny else QWEN25_05B))
    folder.mkdir(parents=True, exist_ok=True)
    weights = random_weights(cfg)
    # Zero rows score 0 while ordinary tokens reach ~4 sigma: no stop token ends a run early.
    weights["model.embed_tokens.weight"][FIRST_SPECIAL:] = 0.0
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del weights
    files = {
        "config.json": hf_config(cfg),
        "generation_config.json": generation_config(cfg),
        "tokenizer_config.json": tokenizer_config(cfg),
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    build_tokenizer_json(folder / "tokenizer.json", qwen3=False)


def genai_builder_available() -> bool:
    try:
        import onnxruntime_genai.models.builder  # noqa: F401  (needs torch and transformers)
    except Exception:
        return False
    return True


def builder_command(hf_dir: Path, out: Path, cache: Path, prune: bool = False) -> list[str]:
    return [
        sys.executable,
        "-m",
        "onnxruntime_genai.models.builder",
        "-i",
        str(hf_dir),
        "-o",
        str(out),
        "-p",
        "int4",
        "-e",
        "cpu",
        "-c",
        str(cache),
        "--extra_options",
        f"int4_block_size={BLOCK_SIZE}",
        f"int4_accuracy_level={ACCURACY_LEVEL}",
        *(["prune_lm_head=true"] if prune else []),
    ]


def build_model(
    cache: Path, tiny: bool, log: Callable[[str], None], prune: bool = False
) -> tuple[Path, str]:
    """The int4 model folder (built once, then reused) and what built it; ``prune``: genai's
    builder with ``prune_lm_head=true`` (logits of the last position only)."""
    name = model_name(tiny)
    out = cache / (f"genai-{name}-int4" + ("-pruned" if prune else ""))
    if (out / ".complete").is_file():
        return out, (out / ".complete").read_text(encoding="utf-8").strip()
    if genai_builder_available():
        hf_dir = cache / f"hf-{name}"
        if not (hf_dir / ".complete").is_file():
            log(f"writing the random {name} checkpoint to {hf_dir}")
            write_checkpoint(hf_dir, tiny)
            (hf_dir / ".complete").write_text("ok\n", encoding="utf-8")
        command = builder_command(hf_dir, out, cache / "builder-cache", prune)
        log("building: " + shlex.join(command))
        started = time.monotonic()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        log(f"built in {time.monotonic() - started:.0f} s")
        import onnxruntime_genai

        source = f"onnxruntime-genai {onnxruntime_genai.__version__} model builder"
    elif prune:
        raise SystemExit("genai's pruned build needs onnxruntime-genai's model builder")
    elif tiny:
        import logging

        from llm_support.folders import build_genai_folder
        from llm_support.qwen_tokenizer_json import build_tokenizer_json
        from llm_support.tiny_qwen import TinyQwenConfig

        cfg = TinyQwenConfig(model_type="qwen2", seed=25, **TINY)
        logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
        tokenizer = build_tokenizer_json(cache / "tokenizer" / "tokenizer.json", qwen3=False)
        build_genai_folder(out, cfg, tokenizer, int4=True)
        source = "the test suite's genai-layout builder (onnxruntime-genai not installed)"
    else:
        raise SystemExit(
            "building the benchmark model needs onnxruntime-genai's model builder "
            "(pip install torch==2.13.0 onnxruntime-genai transformers): see docs/benchmarks.md"
        )
    (out / ".complete").write_text(source + "\n", encoding="utf-8")
    return out, source


# --- measurements shared by both workers -------------------------------------------------------


def peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM: per address space, so unaffected by the
    parent it was started from, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class WorkerResult:
    engine: str
    version: str
    load_s: float = 0.0
    rss_after_load: int = 0
    prefill_tokens_per_s: dict[str, float] = field(default_factory=dict)
    decode_tokens_per_s: float = 0.0
    ttft_no_cache_s: float = 0.0
    ttft_cached_s: float = 0.0
    python_overhead: float | None = None  # share of decode time spent outside session.run
    peak_rss: int = 0
    tokens: list[int] = field(default_factory=list)  # greedy tokens of the decode run
    notes: list[str] = field(default_factory=list)


# --- glasses -------------------------------------------------------------------------------------


class TimedSession:
    """Wraps an onnxruntime session; records the wall time of each ``run_with_iobinding``."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.run_s: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def run_with_iobinding(self, binding: Any, run_options: Any = None) -> None:
        started = time.perf_counter()
        try:
            self._session.run_with_iobinding(binding, run_options)
        finally:
            self.run_s.append(time.perf_counter() - started)


def run_glasses(model: Path, plan: Plan) -> WorkerResult:
    import importlib.metadata

    from glasses.llm import ChatPrompt, EngineConfig, GenerationOptions, LlmEngine, SamplingConfig

    out = WorkerResult("glasses", importlib.metadata.version("glasses-runtime"))
    started = time.perf_counter()
    engine = LlmEngine.load(model, EngineConfig(max_context_tokens=plan.context))
    out.load_s = time.perf_counter() - started
    out.rss_after_load = rss_bytes()
    timed = TimedSession(engine._runner._session)
    engine._runner._session = timed
    if not engine.info.last_position_logits:
        out.notes.append("LM head not pruned")

    def generate(prompt: ChatPrompt, new_tokens: int, fresh: bool = True) -> Any:
        """``fresh``: nothing cached (the engine would otherwise reuse the previous run's KV
        for a repeated prompt)."""
        options = GenerationOptions(max_new_tokens=new_tokens, sampling=SamplingConfig(greedy=True))
        if fresh:
            engine.clear_cache()
        stream = engine.stream_prompt(prompt, options)
        for _ in stream:
            pass
        return stream.result

    generate(ChatPrompt((), tuple(plan.prompt(16, salt=9))), 4)  # warm-up
    for length in plan.prompt_lengths:
        ids = tuple(plan.prompt(length))
        best = min(generate(ChatPrompt((), ids), 1).timings.prefill_s for _ in range(plan.reps))
        out.prefill_tokens_per_s[str(length)] = length / best

    decode_rates, overheads = [], []
    for _ in range(plan.reps):
        timed.run_s.clear()
        result = generate(
            ChatPrompt((), tuple(plan.prompt(plan.decode_prompt))), plan.decode_tokens + 1
        )
        timings = result.timings
        steps = timings.generated_tokens - 1
        decode_rates.append(timings.decode_tokens_per_s)
        in_run = sum(timed.run_s[-steps:]) if steps else 0.0
        overheads.append(1.0 - in_run / timings.decode_s if timings.decode_s else 0.0)
        out.tokens = list(result.token_ids)
        if steps < plan.decode_tokens:
            out.notes.append(f"decode stopped after {steps} steps ({result.finish_reason})")
    best = max(range(len(decode_rates)), key=decode_rates.__getitem__)
    out.decode_tokens_per_s, out.python_overhead = decode_rates[best], overheads[best]

    system = tuple(plan.system_ids())
    turns = [system + tuple(plan.user_ids(turn)) for turn in range(plan.reps + 1)]
    out.ttft_no_cache_s = min(
        generate(ChatPrompt((), ids), 1).timings.time_to_first_token_s for ids in turns[1:]
    )
    cached = []
    for ids in turns[1:]:
        generate(ChatPrompt(system, turns[0]), 1)  # caches the system prompt (and turn 0)
        cached.append(generate(ChatPrompt(system, ids), 1, fresh=False).timings)
    if any(t.cached_prompt_tokens < len(system) for t in cached):
        out.notes.append("prefix cache missed")
    out.ttft_cached_s = min(t.time_to_first_token_s for t in cached)
    out.peak_rss = peak_rss_bytes()
    return out


# --- onnxruntime-genai ---------------------------------------------------------------------------


def run_genai(model: Path, plan: Plan, threads: int | None = None) -> WorkerResult:
    """genai as it comes (its default session options), or with ``intra_op_num_threads`` set
    through a config overlay (the same thread count glasses' onnxruntime picks)."""
    import onnxruntime_genai as og

    out = WorkerResult("onnxruntime-genai", og.__version__)
    started = time.perf_counter()
    config = og.Config(str(model))
    if threads:
        options = {"intra_op_num_threads": threads}
        config.overlay(json.dumps({"model": {"decoder": {"session_options": options}}}))
    og_model = og.Model(config)
    tokenizer = og.Tokenizer(og_model)  # an application needs one, as glasses' engine has
    out.load_s = time.perf_counter() - started
    out.rss_after_load = rss_bytes()

    def generator() -> Any:
        params = og.GeneratorParams(og_model)
        params.set_search_options(do_sample=False, max_length=plan.context)
        return og.Generator(og_model, params)

    def first_token(gen: Any, ids: Sequence[int]) -> tuple[float, float]:
        """(prefill seconds, time to first token) for appending ``ids``."""
        started = time.perf_counter()
        gen.append_tokens(list(ids))
        prefill = time.perf_counter() - started
        gen.generate_next_token()
        gen.get_next_tokens()
        return prefill, time.perf_counter() - started

    first_token(generator(), plan.prompt(16, salt=9))  # warm-up
    for length in plan.prompt_lengths:
        ids = plan.prompt(length)
        best = min(first_token(generator(), ids)[0] for _ in range(plan.reps))
        out.prefill_tokens_per_s[str(length)] = length / best

    rates = []
    for _ in range(plan.reps):
        gen = generator()
        first_token(gen, plan.prompt(plan.decode_prompt))
        tokens = [int(gen.get_next_tokens()[0])]
        started = time.perf_counter()
        for _ in range(plan.decode_tokens):
            gen.generate_next_token()
            tokens.append(int(gen.get_next_tokens()[0]))
        rates.append(plan.decode_tokens / (time.perf_counter() - started))
        out.tokens = tokens
        del gen
    out.decode_tokens_per_s = max(rates)

    system = plan.system_ids()
    turns = [system + plan.user_ids(turn) for turn in range(plan.reps + 1)]
    out.ttft_no_cache_s = min(first_token(generator(), ids)[1] for ids in turns[1:])
    gen = generator()
    gen.append_tokens(system)
    ttfts = []
    for ids in turns[1:]:
        started = time.perf_counter()
        gen.rewind_to(len(system))
        gen.append_tokens(ids[len(system) :])
        gen.generate_next_token()
        gen.get_next_tokens()
        ttfts.append(time.perf_counter() - started)
    out.ttft_cached_s = min(ttfts)
    out.peak_rss = peak_rss_bytes()
    del tokenizer
    return out


# --- sampling overhead and multi-turn chat (glasses only, in-process) -----------------------------

SAMPLING_CASES = {
    "greedy": {"greedy": True},
    "top-k 20, temperature 0.7": {"temperature": 0.7, "top_k": 20},
    "top-p 0.9, top-k 0, temperature 0.7": {"temperature": 0.7, "top_p": 0.9},
    "temperature 1.0 alone (OpenAI default)": {"temperature": 1.0},
    "top-p 0.3, temperature 1.0 (a small nucleus)": {"temperature": 1.0, "top_p": 0.3},
    "top-k 1000, temperature 1.0": {"temperature": 1.0, "top_k": 1000},
    "Qwen defaults (top-k 20, top-p 0.8, T 0.7, penalty 1.05)": {
        "temperature": 0.7,
        "top_k": 20,
        "top_p": 0.8,
        "repetition_penalty": 1.05,
    },
}


def lm_like_logits(vocab: int, seed: int) -> np.ndarray:
    """A trained model's shape (random weights give one token almost all the mass): a broad
    bulk of N(0, 2.5) and a few dozen plausible tokens up to 12 above it."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.5, vocab)
    logits[rng.choice(vocab, 40, replace=False)] += 12.0 * rng.random(40)
    return logits.astype(np.float32)


def sampling_overhead(model: Path, plan: Plan) -> dict[str, Any]:
    """Time per ``Sampler`` call on real 151,936-wide logits (the bench model's own, and a
    trained model's shape) against the median decode step of the same engine, same process."""
    from glasses.llm import ChatPrompt, EngineConfig, GenerationOptions, LlmEngine, SamplingConfig
    from glasses.llm.sampling import Sampler

    engine = LlmEngine.load(model, EngineConfig(max_context_tokens=plan.context))
    timed = TimedSession(engine._runner._session)
    engine._runner._session = timed
    options = GenerationOptions(max_new_tokens=65, sampling=SamplingConfig(greedy=True))
    for _ in range(2):
        timed.run_s.clear()
        for _ in engine.stream_prompt(ChatPrompt((), tuple(plan.prompt(64))), options):
            pass
    step = float(np.median(timed.run_s[-64:]))
    runner, kv = engine._runner, engine._kv
    kv.reset()
    model_logits = runner.forward(plan.prompt(64, salt=3), kv, runner.new_run_options())
    assert model_logits is not None
    arrays = {
        "bench model": model_logits,
        "trained-model shape": lm_like_logits(len(model_logits), 5),
    }
    context = list(plan.prompt(300, salt=4))
    out: dict[str, Any] = {"decode_step_s": step, "cases": {}}
    for case, settings in SAMPLING_CASES.items():
        row = {}
        for name, logits in arrays.items():
            sampler = Sampler(SamplingConfig(seed=1, **settings), engine.tokenizer.vocab_size)
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(20):
                    sampler(logits, context)
                best = min(best, (time.perf_counter() - started) / 20)
            row[name] = {"sample_s": best, "share_of_step": best / step}
        out["cases"][case] = row
    return out


def chat_ttft(model: Path, plan: Plan, turns: int = 6, answer: int = 24) -> dict[str, list[float]]:
    """Time to first token of each turn of a chat whose history grows (system prompt, then
    user turn + the previous answers), with the prefix cache and without it."""
    from glasses.llm import ChatPrompt, EngineConfig, GenerationOptions, LlmEngine, SamplingConfig

    out: dict[str, list[float]] = {}
    for label, reuse in (("cached", True), ("no cache", False)):
        engine = LlmEngine.load(
            model, EngineConfig(max_context_tokens=plan.context, prefix_cache=reuse)
        )
        options = GenerationOptions(max_new_tokens=answer, sampling=SamplingConfig(greedy=True))
        for _ in engine.stream_prompt(ChatPrompt((), tuple(plan.prompt(16, salt=9))), options):
            pass  # warm-up
        history = list(plan.system_ids())
        ttfts = []
        for turn in range(turns):
            ids = (*history, *plan.user_ids(turn))
            stream = engine.stream_prompt(ChatPrompt(tuple(plan.system_ids()), ids), options)
            for _ in stream:
                pass
            timings = stream.result.timings
            ttfts.append(timings.time_to_first_token_s)
            history = [*ids, *stream.result.token_ids, IM_END, NEWLINE]
        out[label] = ttfts
        out[f"{label} prompt tokens"] = [float(len(history))]
    return out


def extras_markdown(extras: dict[str, Any]) -> str:
    lines: list[str] = []
    if "sampling" in extras:
        sampling = extras["sampling"]
        step_ms = 1000 * sampling["decode_step_s"]
        lines += [
            f"Sampling per decode step, against the median decode step ({step_ms:.1f} ms):",
            "",
            "| sampling | bench model's logits | trained-model-shaped logits |",
            "| --- | ---: | ---: |",
        ]
        for case, row in sampling["cases"].items():
            cells = [
                f"{1e6 * v['sample_s']:.0f} us = {100 * v['share_of_step']:.2f}%"
                for v in row.values()
            ]
            lines.append(f"| {case} | " + " | ".join(cells) + " |")
        lines.append("")
    if "chat" in extras:
        chat = extras["chat"]
        turns = len(chat["cached"])
        lines += [
            "TTFT per turn of a growing chat (ms; 300-token system prompt, 30-token user turns, "
            "24-token answers):",
            "",
            "| | " + " | ".join(f"turn {i + 1}" for i in range(turns)) + " |",
            "| --- |" + " ---: |" * turns,
        ]
        for label in ("cached", "no cache"):
            lines.append(
                f"| {label} | " + " | ".join(f"{1000 * t:.0f}" for t in chat[label]) + " |"
            )
        lines.append("")
    return "\n".join(lines)


# --- machine and model facts ---------------------------------------------------------------------


def memory_bandwidth(megabytes: int = 256, reps: int = 5) -> dict[str, float]:
    """Copy bandwidth in bytes/s (read + write counted), with 1 thread and with one thread per
    core (numpy releases the GIL while copying)."""
    src = np.ones(megabytes * 2**20 // 4, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)

    def timed(copy: Callable[[], None]) -> float:
        best = float("inf")
        for _ in range(reps):
            started = time.perf_counter()
            copy()
            best = min(best, time.perf_counter() - started)
        return 2 * src.nbytes / best

    threads = os.cpu_count() or 1
    parts = np.array_split(np.arange(src.size), threads)
    bounds = [(int(p[0]), int(p[-1]) + 1) for p in parts if p.size]
    with ThreadPoolExecutor(threads) as pool:

        def parallel() -> None:
            list(pool.map(lambda b: np.copyto(dst[b[0] : b[1]], src[b[0] : b[1]]), bounds))

        result = {"copy_1_thread": timed(lambda: np.copyto(dst, src))}
        result[f"copy_{threads}_threads"] = timed(parallel)
    return result


def bytes_per_token(model: Path, context: int) -> dict[str, int]:
    """What one decode step must read: every initializer that a MatMul-like node consumes whole
    (an int4 table shared by the LM head and the embedding counts: the LM head reads all of
    it), not those only gathered from (the embedding table, the rotary caches: a row or two per
    token), plus the KV cache at ``context`` positions."""
    import onnx

    graph = onnx.load(str(model / "model.onnx"), load_external_data=False).graph
    sizes: dict[str, int] = {}
    for tensor in graph.initializer:
        external = {e.key: e.value for e in tensor.external_data}
        if "length" in external:
            sizes[tensor.name] = int(external["length"])
        else:
            sizes[tensor.name] = len(tensor.raw_data) or onnx.numpy_helper.to_array(tensor).nbytes
    producers = {out: node for node in graph.node for out in node.output}
    transparent = ("Reshape", "Cast", "Identity")

    def sources(name: str) -> set[str]:
        """Initializers behind ``name``, through reshapes and casts."""
        if name in sizes:
            return {name}
        node = producers.get(name)
        if node is None or node.op_type not in transparent:
            return set()
        return sources(node.input[0])

    read_whole: set[str] = set()
    gathered: set[str] = set()
    for node in graph.node:
        if node.op_type in transparent:
            continue
        for index, name in enumerate(node.input):
            found = sources(name)
            is_gather = node.op_type in ("Gather", "GatherBlockQuantized") and index != 1
            is_rotary = node.op_type == "GroupQueryAttention" and index in (7, 8)
            (gathered if is_gather or is_rotary else read_whole).update(found)
    config = json.loads((model / "genai_config.json").read_text(encoding="utf-8"))
    decoder = config["model"]["decoder"]
    kv = 2 * decoder["num_hidden_layers"] * decoder["num_key_value_heads"] * decoder["head_size"]
    weights = sum(sizes[name] for name in read_whole)
    return {
        "weights": weights,
        "gathered_only": sum(sizes[name] for name in gathered - read_whole),
        "kv_cache": kv * 4 * context,
        "total": weights + kv * 4 * context,
    }


# --- orchestration -------------------------------------------------------------------------------

TINY_PLAN = Plan(
    prompt_lengths=(16, 32, 64),
    decode_tokens=8,
    decode_prompt=16,
    system_tokens=40,
    user_tokens=12,
    context=256,
    reps=1,
)


def physical_cores() -> int:
    """What onnxruntime uses for ``intra_op_num_threads=0``: one thread per physical core."""
    cores = set()
    for path in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology/core_cpus_list"):
        cores.add(path.read_text(encoding="ascii").strip())
    return len(cores) or os.cpu_count() or 1


WORKERS: dict[str, Callable[[Path, Plan], WorkerResult]] = {
    "glasses": run_glasses,
    "genai": run_genai,
    "genai-threads": lambda model, plan: run_genai(model, plan, physical_cores()),
    # genai's builder with prune_lm_head=true: the optimisation glasses makes at load time.
    "genai-pruned": lambda model, plan: run_genai(model, plan, physical_cores()),
}
LABELS = {
    "glasses": "glasses",
    "genai": "genai, default options",
    "genai-threads": f"genai, intra_op_num_threads={physical_cores()}",
    "genai-pruned": f"genai, prune_lm_head=true, intra_op_num_threads={physical_cores()}",
}


def genai_runtime_available() -> bool:
    try:
        import onnxruntime_genai  # noqa: F401
    except ImportError:
        return False
    return True


def run_worker(name: str, model: Path, plan: Plan) -> WorkerResult:
    """Runs one engine in a fresh interpreter, so its peak RSS is its own."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        name,
        "--model",
        str(model),
        "--plan",
        json.dumps(asdict(plan)),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return WorkerResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def best_of(runs: list[WorkerResult]) -> WorkerResult:
    """The best value of each speed across rounds (the machine may be shared: a slow round
    measures the neighbours), the highest of each memory figure."""
    best = WorkerResult(**asdict(runs[0]))
    for run in runs[1:]:
        for length, rate in run.prefill_tokens_per_s.items():
            best.prefill_tokens_per_s[length] = max(best.prefill_tokens_per_s[length], rate)
        if run.decode_tokens_per_s > best.decode_tokens_per_s:
            best.decode_tokens_per_s = run.decode_tokens_per_s
            best.python_overhead = run.python_overhead
        best.ttft_no_cache_s = min(best.ttft_no_cache_s, run.ttft_no_cache_s)
        best.ttft_cached_s = min(best.ttft_cached_s, run.ttft_cached_s)
        best.peak_rss = max(best.peak_rss, run.peak_rss)
        best.rss_after_load = max(best.rss_after_load, run.rss_after_load)
        best.load_s = min(best.load_s, run.load_s)
        best.notes += [n for n in run.notes if n not in best.notes]
    return best


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def goals(ours: WorkerResult, peers: list[WorkerResult]) -> list[dict[str, Any]]:
    """Each goal of issue 3 with the measured value and whether it is met.  Against genai, the
    better of its configurations is the bar, metric by metric."""
    out: list[dict[str, Any]] = [
        {
            "goal": "Python overhead per decoded token < 5%",
            "value": ours.python_overhead,
            "met": ours.python_overhead is not None and ours.python_overhead < 0.05,
        },
        {
            "goal": "TTFT with cached system prompt <= 0.15x our own no-cache TTFT",
            "value": ratio(ours.ttft_cached_s, ours.ttft_no_cache_s),
            "met": ours.ttft_cached_s <= 0.15 * ours.ttft_no_cache_s,
        },
    ]
    if not peers:
        return out
    decode = max(p.decode_tokens_per_s for p in peers)
    out.append(
        {
            "goal": "decode >= 0.95x onnxruntime-genai",
            "value": ratio(ours.decode_tokens_per_s, decode),
            "met": ours.decode_tokens_per_s >= 0.95 * decode,
        }
    )
    for length, rate in ours.prefill_tokens_per_s.items():
        peer_rate = max(p.prefill_tokens_per_s[length] for p in peers)
        out.append(
            {
                "goal": f"prefill ({length} tokens) >= 1.3x onnxruntime-genai",
                "value": ratio(rate, peer_rate),
                "met": rate >= 1.3 * peer_rate,
            }
        )
    ttft = min(p.ttft_cached_s for p in peers)
    out.append(
        {
            "goal": "TTFT with cached system prompt <= genai's rewind_to path",
            "value": ratio(ours.ttft_cached_s, ttft),
            "met": ours.ttft_cached_s <= ttft,
        }
    )
    rss = min(p.peak_rss for p in peers)
    out.append(
        {
            "goal": "peak RSS <= onnxruntime-genai's (same context length)",
            "value": ratio(ours.peak_rss, rss),
            "met": ours.peak_rss <= rss,
        }
    )
    return out


def _fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{unit}"


def markdown(report: dict[str, Any]) -> str:
    engines = {name: WorkerResult(**data) for name, data in report["engines"].items()}
    peers = [w for name, w in engines.items() if name != "glasses"]
    plan = parse_plan(report["plan"])
    ceiling = report["decode_ceiling_tokens_per_s"]
    mib = 2**20
    turn = f"{plan.user_tokens}-token turn after a {plan.system_tokens}-token system prompt"
    metrics: list[tuple[str, Callable[[WorkerResult], float | None], int, bool]] = [
        (
            f"prefill, {n}-token prompt (tokens/s)",
            lambda w, n=n: w.prefill_tokens_per_s[str(n)],  # type: ignore[misc]
            0,
            True,
        )
        for n in plan.prompt_lengths
    ]
    metrics += [
        (
            f"decode, {plan.decode_tokens} tokens (tokens/s)",
            lambda w: w.decode_tokens_per_s,
            1,
            True,
        ),
        (
            f"decode, % of the {ceiling:.0f} tokens/s bandwidth ceiling",
            lambda w: 100 * w.decode_tokens_per_s / ceiling,
            0,
            True,
        ),
        (f"TTFT, {turn}, no cache (ms)", lambda w: 1000 * w.ttft_no_cache_s, 0, False),
        (
            "TTFT, same turn, system prompt cached (ms) [genai: rewind_to]",
            lambda w: 1000 * w.ttft_cached_s,
            0,
            False,
        ),
        (f"peak RSS, context {plan.context} (MiB)", lambda w: w.peak_rss / mib, 0, False),
        ("RSS after loading (MiB)", lambda w: w.rss_after_load / mib, 0, False),
        (
            "Python overhead per decoded token (%)",
            lambda w: None if w.python_overhead is None else 100 * w.python_overhead,
            1,
            False,
        ),
    ]
    names = [LABELS.get(n, n) for n in engines]
    lines = [
        "| metric | " + " | ".join(names) + (" | glasses / best genai |" if peers else " |"),
        "| --- |" + " ---: |" * (len(names) + (1 if peers else 0)),
    ]
    for label, get, digits, higher_is_better in metrics:
        values = [get(w) for w in engines.values()]
        cells = [_fmt(v, digits) for v in values]
        if peers:
            peer_values = [v for v in values[1:] if v is not None]
            best = (max if higher_is_better else min)(peer_values) if peer_values else None
            cells.append(_fmt(ratio(values[0], best), 2, "x"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| goal | measured | met |", "| --- | ---: | --- |"]
    for goal in report["goals"]:
        value = goal["value"]
        shown = _fmt(value * 100, 1, "%") if "overhead" in goal["goal"] else _fmt(value, 2, "x")
        lines.append(f"| {goal['goal']} | {shown} | {'yes' if goal['met'] else '**no**'} |")
    return "\n".join(lines)


def parse_plan(raw: dict[str, Any]) -> Plan:
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return Plan(**fields)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="2-layer model, few tokens")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/glasses-bench-llm"))
    parser.add_argument("--model", type=Path, help="an existing genai int4 model folder")
    parser.add_argument("--json", type=Path, help="write the full report here")
    parser.add_argument("--skip-genai", action="store_true", help="measure glasses only")
    parser.add_argument("--rounds", type=int, help="run every engine this often, keep the best")
    parser.add_argument("--reps", type=int, help="repetitions inside a round (best kept)")
    parser.add_argument("--context", type=int, help="context length of both engines")
    parser.add_argument(
        "--only",
        choices=("engines", "sampling", "chat"),
        action="append",
        help="run only these parts (repeatable): the engine comparison, the sampling overhead, "
        "the multi-turn chat TTFT; default all",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = WORKERS[args.worker](args.model, parse_plan(json.loads(args.plan)))
        print(json.dumps(asdict(result)))
        return 0

    def log(message: str) -> None:
        print(f"bench_llm: {message}", file=sys.stderr, flush=True)

    plan = TINY_PLAN if args.tiny else Plan()
    overrides = {"reps": args.reps, "context": args.context}
    plan = Plan(**{**asdict(plan), **{k: v for k, v in overrides.items() if v}})
    rounds = args.rounds or (1 if args.tiny else 2)
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.model:
        model, source = args.model, "given with --model"
    else:
        model, source = build_model(args.cache, args.tiny, log)
    parts = set(args.only or ("engines", "sampling", "chat"))
    extras: dict[str, Any] = {}
    if "sampling" in parts:
        log("sampling overhead")
        extras["sampling"] = sampling_overhead(model, plan)
    if "chat" in parts:
        log("multi-turn chat TTFT")
        extras["chat"] = chat_ttft(model, plan)
    if "engines" not in parts:
        print(extras_markdown(extras))
        if args.json:
            args.json.write_text(json.dumps({"extras": extras}, indent=2) + "\n", "utf-8")
        return 0
    names = ["glasses"]
    models = {"glasses": model, "genai": model, "genai-threads": model}
    if not args.skip_genai and genai_runtime_available():
        names += ["genai", "genai-threads"]
        if genai_builder_available() and not args.model:
            models["genai-pruned"], _ = build_model(args.cache, args.tiny, log, prune=True)
            names.append("genai-pruned")
    log(f"model {model} ({source}); measuring memory bandwidth")
    bandwidth = memory_bandwidth(32 if args.tiny else 256)
    need = bytes_per_token(model, plan.decode_prompt + plan.decode_tokens // 2)
    runs: dict[str, list[WorkerResult]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names:  # interleaved, so a busy spell of the machine hits every engine
            log(f"round {round_ + 1}/{rounds}: {LABELS[name]}")
            runs[name].append(run_worker(name, models[name], plan))
    engines = {name: best_of(results) for name, results in runs.items()}
    ours = engines["glasses"]
    peers = [w for name, w in engines.items() if name != "glasses"]
    report: dict[str, Any] = {
        "command": shlex.join(["python", "scripts/bench_llm.py", *(argv or sys.argv[1:])]),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "physical_cores": physical_cores(),
            "load_average": os.getloadavg(),
        },
        "model": {"path": str(model), "built_by": source, "tiny": args.tiny},
        "plan": asdict(plan),
        "rounds": rounds,
        "memory_bandwidth_bytes_per_s": bandwidth,
        "bytes_per_decoded_token": need,
        "decode_ceiling_tokens_per_s": max(bandwidth.values()) / need["total"],
        "engines": {name: asdict(w) for name, w in engines.items()},
        "same_greedy_tokens": all(p.tokens == ours.tokens for p in peers) if peers else None,
        "goals": goals(ours, peers),
        "extras": extras,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(markdown(report))
    print("\n" + extras_markdown(extras))
    print(
        "\nmemory bandwidth (numpy copy, read + write): "
        + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bandwidth.items())
        + f"; read per decoded token: {need['total'] / 2**20:.1f} MiB "
        f"({need['weights'] / 2**20:.1f} MiB weights + KV cache); "
        f"same greedy tokens: {report['same_greedy_tokens']}; "
        f"load average {' '.join(f'{x:.1f}' for x in report['machine']['load_average'])}"
    )
    for name, w in engines.items():
        if w.notes:
            print(f"{LABELS[name]}: " + "; ".join(w.notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
