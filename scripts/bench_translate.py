"""Translation that keeps pace (issue #14): whole-utterance against clause-by-clause translate
mode, side by side on the same synthesised speech.

    nice python scripts/bench_translate.py [--lengths 3 5 10 14] [--per-length 2]
                                           [--json OUT] [--write docs/benchmarks.md]
    nice python scripts/bench_translate.py --realtime 2 [--realtime-length 10] [--write ...]

Faster than real time, with time as data: espeak-ng speech of 3 to 14 s utterances in Mandarin
and English goes in 0.1 s chunks through the real Silero VAD, segmenter and transcriber into
the real translate mode; every part runs for real and is timed, and what it produces is
delivered at the simulated time it would finish (a chunk arrives when it has been spoken; the
listen worker and the model each do one thing at a time, as the daemon's workers do, each on
its own core of two). The text comes from stand-ins, because random weights give real timings
but meaningless text: the recogniser's text is the script's whole words whose audio ends inside
the segment it decodes (segment-aware: a segment the VAD cut starts at its own first word), and
the translation is ``tests/translate_support``'s word-by-word table. The timings come from the
tiny random-weight SenseVoice (``scripts/build_test_asr_model.py``), decoding the same audio,
and the tiny random-weight Qwen (``scripts/build_test_model.py``), generating the stand-in's
reply length from the real prompt (the prefix cache at work as in the daemon).

Lag and erasure are defined in ``translate_bench.metrics``; a word whose translation never
settles is counted, and the run then ends with a FAIL line and exit status 1. Cost: busy time
of each worker per second of speech, and the prefill tokens that re-translation added. The
parts live in ``scripts/translate_bench/`` (speech, simulate, metrics, contention, report);
this file measures and writes the report.

``--realtime N`` cross-checks that method instead: N utterances (English and Mandarin in turn)
spoken at 1x by the real clock into the real daemon, shown on a real ``glasses-sim`` process,
each word's lag read where the simulator acknowledged the screen that settled it, beside the
time-as-data lags of the same utterances (``translate_bench.crosscheck``; its own section,
right after the main one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "scripts", ROOT / "tests"):  # run as a plain script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from translate_bench import crosscheck  # noqa: E402
from translate_bench.contention import contention  # noqa: E402
from translate_bench.metrics import Lags, erasure, lags, stats  # noqa: E402
from translate_bench.report import goals, markdown, write_section  # noqa: E402
from translate_bench.simulate import listen, translate_run  # noqa: E402
from translate_bench.speech import RATE, norm, utterances  # noqa: E402

from glasses.llm.generator import GenerationOptions  # noqa: E402
from glasses.modes.clauses import ClausePolicy  # noqa: E402
from glasses.modes.prompts import translate_messages  # noqa: E402
from glasses.runtime import media  # noqa: E402

POLICIES = {"utterance": ClausePolicy(commit="utterance"), "clause": ClausePolicy()}


def load_models(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """The tiny Qwen (warmed up), the tiny SenseVoice and the Silero VAD, built if missing."""
    from glasses.llm.engine import LlmEngine
    from glasses.perception.asr import RecognizerConfig, load_recognizer
    from glasses.perception.vad import SileroVad

    llm_dir, asr_dir = args.models / "llm", args.models / "asr"
    for script, out in (("build_test_model.py", llm_dir), ("build_test_asr_model.py", asr_dir)):
        if not out.exists():
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / script), str(out)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
    engine = LlmEngine.load(llm_dir)
    recognizer = load_recognizer(RecognizerConfig(asr_dir, num_threads=2))
    engine.generate(translate_messages("warm up", "en", "zh"), GenerationOptions(4))
    return engine, recognizer, SileroVad()


def measure(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    llm_dir = args.models / "llm"
    engine, recognizer, vad = load_models(args)
    busy = {"vad_s": 0.0, "asr_s": 0.0, "speech_s": 0.0}
    by_length: dict[str, dict[str, Any]] = {}
    totals: dict[str, dict[str, Any]] = {
        p: {
            "llm_s": 0.0,
            "mode_s": 0.0,
            "prefill": {},
            "taken": [0.0, 0.0],
            "shown": 0,
            "cancelled": 0,
        }
        for p in POLICIES
    }
    for length, speech in utterances(args.lengths, args.per_length):
        events, costs = listen(speech, recognizer, vad)
        log(
            f"{speech.language} {speech.seconds:.1f} s, {costs['segments']:.0f} segment(s): {speech.text[:60]}"
        )
        busy["vad_s"] += costs["vad_s"]
        busy["asr_s"] += costs["asr_s"]
        busy["speech_s"] += len(speech.audio) / RATE
        row = by_length.setdefault(
            f"{length:g}", {p: {"lags": Lags(), "seconds": [], "segments": []} for p in POLICIES}
        )
        for name, policy in POLICIES.items():
            run = translate_run(events, policy, engine)
            row[name]["lags"] += lags(speech, run)
            row[name]["seconds"].append(speech.seconds)
            row[name]["segments"].append(costs["segments"])
            total = totals[name]
            total["llm_s"] += run.llm_s
            total["mode_s"] += run.mode_s
            total["cancelled"] += run.cancelled
            for kind, tokens in run.prefill.items():
                total["prefill"][kind] = total["prefill"].get(kind, 0) + tokens
            final = norm(run.screens[-1][2])
            total["shown"] += len(final)
            total["taken"][0] += erasure(run, settled=True) * len(final)
            total["taken"][1] += erasure(run, settled=False) * len(final)
    lag = {
        length: {
            name: {
                **stats(v["lags"].seconds),
                "unsettled": len(v["lags"].unsettled),
                "unsettled_words": v["lags"].unsettled,
                "silent": v["lags"].silent,
                "speech_s": statistics.fmean(v["seconds"]),
                "utterances": len(v["seconds"]),
                "segments": sum(v["segments"]),
            }
            for name, v in row.items()
        }
        for length, row in by_length.items()
    }
    cores = 2 * busy["speech_s"]
    cost = {
        name: {
            "vad_percent": 100 * busy["vad_s"] / cores,
            "asr_percent": 100 * busy["asr_s"] / cores,
            "translation_percent": 100 * t["llm_s"] / cores,
            "rest_percent": 100 * t["mode_s"] / cores,
            "prefill_tokens": t["prefill"],
            "cancelled": t["cancelled"],
            "erasure_settled": t["taken"][0] / max(1, t["shown"]),
            "erasure_drawn": t["taken"][1] / max(1, t["shown"]),
        }
        for name, t in totals.items()
    }
    model = args.contention_model or llm_dir
    log(f"ASR decodes against the model's generation ({model}), with and without spinning")
    audio = utterances([5.0], 1)[0][1].audio
    contended = contention(recognizer, model, audio, args.repeats, args.rounds)
    setup = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "lengths": args.lengths,
        "per_length": args.per_length,
        "utterances": 2 * len(args.lengths) * args.per_length,
        "policy": repr(POLICIES["clause"]),
    }
    return {
        "setup": setup,
        "lag": lag,
        "cost": cost,
        "contention": contended,
        "goals": goals(lag, cost),
    }


def realtime(args: argparse.Namespace) -> int:
    """``--realtime N``: the cross-check section (``translate_bench.crosscheck``)."""
    if args.realtime < 1:
        print("--realtime needs at least 1 utterance", file=sys.stderr)
        return 2
    try:  # before the models load: a policy the daemon's settings cannot express
        for policy in POLICIES.values():
            crosscheck.overrides(policy)
    except ValueError as exc:
        print(f"bench_translate: {exc}", file=sys.stderr)
        return 2
    speeches = crosscheck.pick(args.realtime, args.realtime_length)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    report = crosscheck.measure(speeches, POLICIES, load_models(args), log)
    setup = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    command = f"nice python scripts/bench_translate.py --realtime {args.realtime} "
    command += f"--realtime-length {args.realtime_length:g}"
    command += "".join(f" --clause {item}" for item in args.clause)
    section = crosscheck.markdown(report, command, setup)
    print(section)
    if args.json:
        args.json.write_text(json.dumps(report | {"setup": setup}, indent=2), encoding="utf-8")
    if args.write:
        crosscheck.write_section(args.write, section)
    if report["unsettled"]:
        print(f"FAIL: {report['unsettled']} words whose translation never settled", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lengths",
        type=float,
        nargs="+",
        default=[3.0, 5.0, 10.0, 14.0],
        help="utterance lengths (s)",
    )
    parser.add_argument(
        "--per-length", type=int, default=2, help="utterances per length and language"
    )
    parser.add_argument("--repeats", type=int, default=15, help="ASR decodes per contention case")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of the contention cases"
    )
    parser.add_argument(
        "--contention-model",
        type=Path,
        help="LLM folder for the contention cases (e.g. bench_llm.py's Qwen2.5-0.5B-shaped int4 "
        "model in /tmp/glasses-bench-llm); default: the tiny one",
    )
    parser.add_argument(
        "--models", type=Path, default=Path(tempfile.gettempdir()) / "glasses-bench-translate"
    )
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--write", type=Path, help="replace the section in this markdown file")
    parser.add_argument(
        "--clause",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a clause policy field other than its default (e.g. lookahead_words=1)",
    )
    parser.add_argument(
        "--realtime",
        type=int,
        metavar="N",
        help="instead: cross-check in real time, N utterances (English and Mandarin in turn) "
        "spoken at 1x into the real daemon and shown on a glasses-sim process, both policies, "
        "beside their time-as-data figures",
    )
    parser.add_argument(
        "--realtime-length", type=float, default=10.0, help="with --realtime: utterance length (s)"
    )
    args = parser.parse_args(argv)
    fields = {
        k: type(getattr(ClausePolicy(), k))(v)
        for k, v in (item.split("=", 1) for item in args.clause)
    }
    POLICIES["clause"] = ClausePolicy(**fields)
    if not media.have_espeak():
        print("bench_translate needs espeak-ng (apt install espeak-ng)", file=sys.stderr)
        return 2
    if args.realtime is not None:
        return realtime(args)
    report = measure(args, lambda m: print(m, file=sys.stderr, flush=True))
    lengths = " ".join(f"{x:g}" for x in args.lengths)
    command = f"nice python scripts/bench_translate.py --lengths {lengths} --per-length {args.per_length} --repeats {args.repeats}"
    command += f" --rounds {args.rounds}"
    if args.contention_model:
        command += f" --contention-model {args.contention_model}"
    command += "".join(f" --clause {item}" for item in args.clause)
    section = markdown(report, command)
    print(section)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.write:
        write_section(args.write, section)
    lost = {
        f"{length} s {name}": row[name]["unsettled_words"]
        for length, row in report["lag"].items()
        for name in row
        if row[name]["unsettled"]
    }
    if lost:  # with the stand-ins every word is translated: a word never settled is a bug
        print(f"FAIL: words whose translation never settled: {lost}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
