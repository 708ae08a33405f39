#!/usr/bin/env python3
"""LLM engine benchmark: glasses' engine and onnxruntime-genai on the same int4 model file.

    python scripts/bench_llm.py                      # Qwen2.5-0.5B-shaped model (slow first build)
    python scripts/bench_llm.py --tiny --json out.json   # smoke run: 2-layer model, few tokens

The model has the real Qwen2.5-0.5B-Instruct dimensions (24 layers, hidden 896, 14 query and
2 KV heads of 64, MLP 4864, vocabulary 151,936, tied embeddings) and random weights, so no
download is needed.  It is written as a Hugging Face checkpoint and converted by the real
onnxruntime-genai model builder (``-p int4 -e cpu``, block 32, accuracy level 4, the LM head
quantised too, every other option at its default), so both engines run the very same file.
Both are cached under ``--cache`` (default ``/tmp/glasses-bench-llm``); building takes minutes.

Each engine runs in its own subprocess (a clean peak RSS, read from ``VmHWM``) on the same
token ids, greedy, with the same context length (``--context``) and ONNX Runtime's default
thread count:

- prefill tokens/s for prompts of ``--prompt-lengths`` tokens (no cached prefix);
- decode tokens/s over ``--decode-tokens`` tokens after a 64-token prompt;
- time to first token for a ``--user-tokens`` user turn after a ``--system-tokens`` system
  prompt: without any cache, and with the system prompt cached (glasses: its prefix cache;
  genai: one generator kept at the system prompt, ``rewind_to`` before each turn);
- Python overhead of glasses per decoded token: time outside ``session.run`` / total.

The main process measures memory bandwidth (numpy copies, 1 and 2 threads) and derives the
decode ceiling: bytes of weights read per token (every initializer but the embedding table
and the rotary caches, plus the KV cache) divided by the bandwidth.

With ``--tiny`` and no onnxruntime-genai (or no torch for its builder), the model comes from
the test suite's own genai-layout builder and the genai column is skipped.
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
QWEN25_05B = {
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
    from safetensors.numpy import save_file

    from llm_support.qwen_tokenizer_json import build_tokenizer_json
    from llm_support.tiny_qwen import (
        TinyQwenConfig,
        generation_config,
        hf_config,
        random_weights,
        tokenizer_config,
    )

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


def builder_command(hf_dir: Path, out: Path, cache: Path) -> list[str]:
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
    ]


def build_model(cache: Path, tiny: bool, log: Callable[[str], None]) -> tuple[Path, str]:
    """The int4 model folder (built once, then reused) and what built it."""
    name = model_name(tiny)
    out = cache / f"genai-{name}-int4"
    if (out / ".complete").is_file():
        return out, (out / ".complete").read_text(encoding="utf-8").strip()
    if genai_builder_available():
        hf_dir = cache / f"hf-{name}"
        if not (hf_dir / ".complete").is_file():
            log(f"writing the random {name} checkpoint to {hf_dir}")
            write_checkpoint(hf_dir, tiny)
            (hf_dir / ".complete").write_text("ok\n", encoding="utf-8")
        command = builder_command(hf_dir, out, cache / "builder-cache")
        log("building: " + shlex.join(command))
        started = time.monotonic()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        log(f"built in {time.monotonic() - started:.0f} s")
        import onnxruntime_genai

        source = f"onnxruntime-genai {onnxruntime_genai.__version__} model builder"
    elif tiny:
        from llm_support.folders import build_genai_folder
        from llm_support.qwen_tokenizer_json import build_tokenizer_json
        from llm_support.tiny_qwen import TinyQwenConfig

        cfg = TinyQwenConfig(model_type="qwen2", seed=25, **TINY)
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

    out = WorkerResult("glasses", importlib.metadata.version("glasses"))
    started = time.perf_counter()
    engine = LlmEngine.load(model, EngineConfig(max_context_tokens=plan.context))
    out.load_s = time.perf_counter() - started
    out.rss_after_load = rss_bytes()
    timed = TimedSession(engine._runner._session)
    engine._runner._session = timed
    if not engine.info.last_position_logits:
        out.notes.append("LM head not pruned")

    def generate(prompt: ChatPrompt, new_tokens: int) -> Any:
        options = GenerationOptions(max_new_tokens=new_tokens, sampling=SamplingConfig(greedy=True))
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
        result = generate(ChatPrompt((), tuple(plan.prompt(plan.decode_prompt))), plan.decode_tokens + 1)
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
    generate(ChatPrompt(system, turns[0]), 1)  # caches the system prompt
    cached = [generate(ChatPrompt(system, ids), 1).timings for ids in turns[1:]]
    if any(t.cached_prompt_tokens != len(system) for t in cached):
        out.notes.append("prefix cache missed")
    out.ttft_cached_s = min(t.time_to_first_token_s for t in cached)
    out.peak_rss = peak_rss_bytes()
    return out


# --- onnxruntime-genai ---------------------------------------------------------------------------


def run_genai(model: Path, plan: Plan) -> WorkerResult:
    import onnxruntime_genai as og

    out = WorkerResult("onnxruntime-genai", og.__version__)
    started = time.perf_counter()
    og_model = og.Model(str(model))
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
    return out


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
    """What one decode step must read: every initializer except the token embedding table (one
    row is read) and the rotary caches (one row each), plus the KV cache at ``context``."""
    import onnx

    proto = onnx.load(str(model / "model.onnx"), load_external_data=False)
    graph = proto.graph
    sizes: dict[str, int] = {}
    for tensor in graph.initializer:
        external = {e.key: e.value for e in tensor.external_data}
        if "length" in external:
            sizes[tensor.name] = int(external["length"])
        else:
            sizes[tensor.name] = len(tensor.raw_data) or onnx.numpy_helper.to_array(tensor).nbytes
    embedding: set[str] = set()
    for node in graph.node:
        if node.op_type in ("Gather", "GatherBlockQuantized") and "input_ids" in node.input:
            embedding.update(n for n in node.input if n in sizes)
        if node.op_type == "GroupQueryAttention":
            embedding.update(n for n in node.input[7:9] if n in sizes)
    config = json.loads((model / "genai_config.json").read_text(encoding="utf-8"))
    decoder = config["model"]["decoder"]
    kv = 2 * decoder["num_hidden_layers"] * decoder["num_key_value_heads"] * decoder["head_size"]
    weights = sum(size for name, size in sizes.items() if name not in embedding)
    return {
        "weights": weights,
        "embedding_and_rotary": sum(sizes[n] for n in embedding),
        "kv_cache": kv * 4 * context,
        "total": weights + kv * 4 * context,
    }
