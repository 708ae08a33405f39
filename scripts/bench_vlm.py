#!/usr/bin/env python3
"""Vision-language engine benchmark: glasses' Qwen2-VL engine (int4) and transformers on the CPU
(float32, the same random weights), at Qwen2-VL-2B-Instruct's real dimensions.

    nice python scripts/bench_vlm.py --rounds 2 --json out.json   # the docs/benchmarks.md run
    python scripts/bench_vlm.py --tiny --json out.json           # smoke run: 2-layer model

The model (scripts/vlm_bench/build.py) is built once and cached under ``--cache`` (default
``/tmp/glasses-bench-vlm``): a seeded random Qwen2VLForConditionalGeneration with the 2B's
config.json (vision: depth 32, width 1280, 16 heads, MLP x4, 14 px patches, 2 x 2 merge,
temporal patch 2; text: hidden 1536, 28 layers, 12 query and 2 KV heads, MLP 8960, vocabulary
151,936, tied embeddings, M-RoPE sections 16/24/24) saved as a checkpoint, exported by the test
suite's own three-graph exporter and quantised like onnx-community's q4 files (MatMulNBits,
4 bits, symmetric, block 32; the embedding table float32).  The full-size build needs torch and
transformers, about 15 GB of memory at its peak and 25 GB of disk while it runs.

onnxruntime-genai 0.15 is not the peer: its model builder refuses Qwen2VLForConditionalGeneration
("not currently supported") and builds only the text part of Qwen2.5-VL, and its runtime knows
the qwen2_5_vl and qwen3_vl model types, not qwen2_vl.  transformers runs the same checkpoint
with ``torch.set_num_threads`` set to the same thread count.

Each engine runs in its own child process (its peak RSS, VmHWM, is its own; the build's memory
is gone by then), ``--rounds`` times interleaved, the best of each figure kept.  Measured per
picture size (224x224, 448x448, 640x480, each its own size, no pixel budget): image encode time,
prefill tokens/s (the prompt's pass, encode excluded), picture prepare time and time to first
token after the button press (prepare + encode + prefill + first token, on "What is this?"); at
448x448, decode tokens/s; peak RSS (with ``--peak-per-size`` also in a child per size that
sees only that size's pictures: the peak a pixel budget of that size allows).  From glasses' figures: the pixel budget at which a Pi 5
would answer within ``--pi5-target-s`` (an estimate: scripts/vlm_bench/report.py says how).
``--encoder-arena keep|shrink|off`` runs glasses with its vision encoder's memory arena kept,
shrunk after each picture (the default) or off, and ``--arena-pairs N`` times the encode with
the arena kept and shrunk interleaved in one process (scripts/vlm_bench/arena.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "tests", ROOT / "scripts"):  # run as a plain script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from vlm_bench import build, report  # noqa: E402
from vlm_bench.arena import ARENAS  # noqa: E402
from vlm_bench.workers import (  # noqa: E402
    Plan,
    WorkerResult,
    run_glasses,
    run_glasses_pairs,
    run_transformers,
    size_key,
)

TINY_PLAN = Plan(sizes=((56, 56), (112, 112), (140, 112)), decode_size=(112, 112), decode_tokens=4)
WORKERS = {
    "glasses": run_glasses,
    "glasses-pairs": run_glasses_pairs,
    "transformers": run_transformers,
}


def log(message: str) -> None:
    print(f"bench_vlm: {message}", file=sys.stderr, flush=True)


def child(*args: str) -> str:
    """This script run again with ``args`` (a fresh interpreter: its memory is its own)."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_vlm: {shlex.join(args)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def ensure_model(cache: Path, tiny: bool) -> Path:
    """``cache/<name>`` holding ``hf`` (the checkpoint) and ``q4`` (the three graphs), built
    once (two child processes) and reused."""
    base = cache / ("qwen2-vl-tiny" if tiny else "qwen2-vl-2b-shape")
    if not (base / "raw" / ".complete").is_file() and not (base / "q4" / ".complete").is_file():
        log(f"building the random checkpoint and float32 graphs in {base} (torch)")
        started = time.monotonic()
        child("--step", "export", "--cache", str(base), *(["--tiny"] if tiny else []))
        (base / "raw" / ".complete").write_text("ok\n", encoding="utf-8")
        log(f"exported in {time.monotonic() - started:.0f} s")
    if not (base / "q4" / ".complete").is_file():
        log("quantising to int4 (MatMulNBits, block 32)")
        started = time.monotonic()
        child("--step", "quantize", "--cache", str(base), *(["--tiny"] if tiny else []))
        (base / "q4" / ".complete").write_text("ok\n", encoding="utf-8")
        build.remove_intermediates(base)
        log(f"quantised in {time.monotonic() - started:.0f} s")
    return base


def parse_plan(text: str) -> Plan:
    raw = json.loads(text)
    raw["sizes"] = tuple(tuple(size) for size in raw["sizes"])
    raw["decode_size"] = tuple(raw["decode_size"])
    return Plan(**raw)


def best_of(runs: list[WorkerResult]) -> dict[str, Any]:
    """The best of each speed across rounds (a shared machine's busy spell hits one round),
    the highest of each memory figure."""
    best = asdict(runs[0])
    for run in runs[1:]:
        for key, row in run.sizes.items():
            if row["ttft_s"] < best["sizes"][key]["ttft_s"]:
                best["sizes"][key] = row
        best["decode_tokens_per_s"] = max(best["decode_tokens_per_s"], run.decode_tokens_per_s)
        best["peak_rss"] = max(best["peak_rss"], run.peak_rss)
        best["rss_after_load"] = max(best["rss_after_load"], run.rss_after_load)
        best["load_s"] = min(best["load_s"], run.load_s)
        best["notes"] += [n for n in run.notes if n not in best["notes"]]
    return best


def peak_per_size(model: Path, plan: Plan) -> dict[str, int]:
    """glasses' peak RSS (bytes) in a child that sees only pictures of one size (and decodes
    after one), for each size: the peak a pixel budget of that size would allow."""
    peaks: dict[str, int] = {}
    for size in plan.sizes:
        log(f"peak RSS with {size_key(size)} as the largest picture")
        alone = Plan(**{**asdict(plan), "sizes": (size,), "decode_size": size, "reps": 1})
        line = child(
            "--worker", "glasses", "--model", str(model), "--plan", json.dumps(asdict(alone))
        )
        peaks[size_key(size)] = WorkerResult(**json.loads(line.strip().splitlines()[-1])).peak_rss
    return peaks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="2-layer model, small pictures")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/glasses-bench-vlm"))
    parser.add_argument("--json", type=Path, help="write the full report here")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each engine, best kept")
    parser.add_argument("--reps", type=int, default=1, help="runs of each size inside a round")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads of both")
    parser.add_argument("--skip-peer", action="store_true", help="measure glasses only")
    parser.add_argument("--pi5-target-s", type=float, default=5.0)
    parser.add_argument(
        "--int4-embeddings",
        action="store_true",
        help="glasses runs a copy whose token embedding is int4 too (the q4 files keep it float32)",
    )
    parser.add_argument(
        "--encoder-arena",
        choices=ARENAS,
        default="shrink",
        help="glasses' vision encoder: its CPU arena kept after a picture (as before issue "
        "#15), shrunk after each (the engine's default) or off (no arena: malloc); "
        "scripts/vlm_bench/arena.py",
    )
    parser.add_argument(
        "--keep-encoder-arena",
        action="store_const",
        const="keep",
        dest="encoder_arena",
        help="the same as --encoder-arena keep",
    )
    parser.add_argument(
        "--arena-pairs",
        type=int,
        default=0,
        metavar="N",
        help="also time glasses' encode with the arena kept and shrunk, interleaved in one "
        "process: N pairs of each per size, the second encode of each pair timed",
    )
    parser.add_argument(
        "--decode-tokens",
        type=int,
        help="tokens decoded after the decode size's picture (default 32; --tiny: 4)",
    )
    parser.add_argument(
        "--peak-per-size",
        action="store_true",
        help="also glasses' peak RSS with each size as the largest picture (a child per size)",
    )
    parser.add_argument("--step", choices=("export", "quantize", "embed"), help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.step == "export":
        build.export_step(args.cache, args.tiny)
        return 0
    if args.step == "quantize":
        import logging

        logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
        build.quantize_step(args.cache, args.cache / "q4", args.tiny)
        return 0
    if args.step == "embed":
        build.int4_embeddings_step(args.cache / "q4", args.cache / "q4-int4-embeddings")
        return 0
    if args.worker:
        print(json.dumps(asdict(WORKERS[args.worker](args.model, parse_plan(args.plan)))))
        return 0

    plan = TINY_PLAN if args.tiny else Plan()
    plan = Plan(
        **{
            **asdict(plan),
            "threads": args.threads,
            "reps": args.reps,
            "encoder_arena": args.encoder_arena,
            "arena_pairs": args.arena_pairs,
            **({"decode_tokens": args.decode_tokens} if args.decode_tokens else {}),
        }
    )
    base = ensure_model(args.cache, args.tiny)
    models = {"glasses": base / "q4", "transformers": base / "hf"}
    if args.int4_embeddings:
        models["glasses"] = base / "q4-int4-embeddings"
        if not (models["glasses"] / ".complete").is_file():
            log("quantising the token embedding to int4 too (GatherBlockQuantized)")
            child("--step", "embed", "--cache", str(base))
            (models["glasses"] / ".complete").write_text("ok\n", encoding="utf-8")
    names = ["glasses"] if args.skip_peer else ["glasses", "transformers"]
    runs: dict[str, list[WorkerResult]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        for name in names:  # interleaved, so a busy spell of the machine hits every engine
            log(f"round {round_ + 1}/{args.rounds}: {name}")
            line = child(
                "--worker", name, "--model", str(models[name]), "--plan", json.dumps(asdict(plan))
            )
            runs[name].append(WorkerResult(**json.loads(line.strip().splitlines()[-1])))
    engines = {name: best_of(results) for name, results in runs.items()}
    peaks = peak_per_size(models["glasses"], plan) if args.peak_per_size else {}
    pairs: dict[str, dict[str, list[float]]] = {}
    if args.arena_pairs > 0:
        log(f"encode with the arena kept and shrunk, {args.arena_pairs} pairs of each per size")
        line = child(
            "--worker",
            "glasses-pairs",
            "--model",
            str(models["glasses"]),
            "--plan",
            json.dumps(asdict(plan)),
        )
        pairs = WorkerResult(**json.loads(line.strip().splitlines()[-1])).encode_pairs
    budget = report.pi5_budget(engines["glasses"]["sizes"], plan.threads, args.pi5_target_s)
    result: dict[str, Any] = {
        "command": shlex.join(
            ["python", "scripts/bench_vlm.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "model": {
            "path": str(base),
            "glasses_folder": str(models["glasses"]),
            "tiny": args.tiny,
            "block_size": build.BLOCK_SIZE,
            "token_embedding": "int4" if args.int4_embeddings else "float32",
        },
        "plan": asdict(plan),
        "rounds": args.rounds,
        "engines": engines,
        "pi5_budget": budget,
        "goals": report.goals(engines, budget, size_key(plan.decode_size), peaks),
        "peak_rss_by_size": peaks,
        "encode_pairs": pairs,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report.markdown(result))
    load = " ".join(f"{x:.1f}" for x in result["machine"]["load_average"])
    print(f"\nload average {load}")
    for name, engine in engines.items():
        if engine["notes"]:
            print(f"{name}: " + "; ".join(engine["notes"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
