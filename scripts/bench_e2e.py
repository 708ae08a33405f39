"""End-to-end latency of the daemon on the simulated glasses with the LLM loaded, CPU while
listening to silence, and peak memory.

    nice python scripts/bench_e2e.py [--utterances 5] [--translations 4] [--captures 3]
                                     [--silence-s 10] [--profile 640x400x4] [--asr-model DIR]
                                     [--tiny] [--json OUT] [--write docs/benchmarks.md]

Runs ``glasses-sim display`` and the whole daemon in this process, with the real Silero VAD,
RapidOCR and the local LLM engine on the random-weight int4 model of ``scripts/bench_llm.py``
(Qwen2.5-0.5B dimensions; built once by its builder and cached under ``--cache``; ``--tiny``:
its 2-layer model, for smoke tests). Speech is synthesised with espeak-ng. Without a SenseVoice
model (``--asr-model`` or ``$GLASSES_SENSEVOICE_DIR``) a stand-in recogniser returns fixed
text at once, so "ASR" is then zero. Figures:

* captions: the end of an utterance as the segmenter sees it -> final text -> first bytes of
  the new screen on the wire -> the device's acknowledgement of the PRESENT;
* translate: final text -> first LLM text delta -> first bytes of the screen showing it on the
  wire -> PRESENT acknowledged; model compute is the time inside ``session.run`` between the
  final text and the first delta (prefill, plus any decode step whose token made no text yet);
  everything else (routing, prompt building, tokenising, sampling, thread hand-overs,
  rendering, the compositor, the emulated UART) is the overhead the issue's 30 ms goal is about;
* read: the OCR result -> first bytes on the wire -> acknowledged;
* CPU: process CPU time / wall time while the microphone feeds silence in real time, in
  translate mode with the model loaded (the simulator, another process, is not counted);
* peak RSS of this process (VAD, OCR, fonts, the pipeline and the LLM).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "scripts", ROOT / "tests"):  # run as a plain script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import bench_llm  # noqa: E402

from glasses.display.views import Mode  # noqa: E402
from glasses.perception.asr import Recognition  # noqa: E402
from glasses.pipeline.messages import (  # noqa: E402
    FinalTranscript,
    Intent,
    LlmDelta,
    LlmDone,
    Message,
    SetMode,
    UserInput,
)
from glasses.runtime import media  # noqa: E402
from glasses.runtime.daemon import Daemon  # noqa: E402
from glasses.runtime.daemon_thread import DaemonThread  # noqa: E402
from glasses.runtime.feeds import LoopingImageReader, PushAudioSource  # noqa: E402
from glasses.runtime.parts import (  # noqa: E402
    Parts,
    add_backend,
    add_camera,
    add_recognizer,
    add_vad,
)
from glasses.settings import load_settings  # noqa: E402
from glasses.sources.camera import ThreadedCamera  # noqa: E402
from hw_sim.launcher import SimulatorProcess  # noqa: E402

MARK_START = "<!-- bench_e2e:start -->"
MARK_END = "<!-- bench_e2e:end -->"
LINES = ("Next stop: West Lake.", "Please exit by the front door.", "The museum opens at nine.")
GOAL_OVERHEAD_MS = 30.0
GOAL_IDLE_CPU_PERCENT = 3.0
GOAL_PEAK_RSS_MB = 1200.0


class FixedText:
    """Stand-in recogniser (no SenseVoice model here): answers at once, so ASR costs 0 ms."""

    def __init__(self) -> None:
        self.lines = deque(LINES)

    def recognize(self, samples: Any, sample_rate_hz: int = 16_000) -> Recognition:
        self.lines.rotate(-1)
        return Recognition(self.lines[0], "en")


@dataclass
class Tape:
    """What the daemon did, stamped with its own clock: routed messages, metric observations
    and the model's ``session.run`` calls (start, end)."""

    clock: Callable[[], float] = time.monotonic
    messages: list[tuple[float, Message]] = field(default_factory=list)
    observed: list[tuple[float, str, float]] = field(default_factory=list)
    runs: list[tuple[float, float]] = field(default_factory=list)


class TimedSession:
    """An onnxruntime session that records when each model run starts and ends."""

    def __init__(self, session: Any, tape: Tape) -> None:
        self._session, self._tape = session, tape

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def run_with_iobinding(self, binding: Any, run_options: Any = None) -> None:
        started = self._tape.clock()
        try:
            self._session.run_with_iobinding(binding, run_options)
        finally:
            self._tape.runs.append((started, self._tape.clock()))


def record(daemon: Daemon, tape: Tape) -> None:
    """Tap the daemon's routing, its metrics and the model's runs (before it starts: the stages
    take ``daemon.route`` and ``daemon.metrics`` when they are assembled)."""
    route, observe = daemon.route, daemon.metrics.observe_ms

    async def routed(msg: Message) -> None:
        tape.messages.append((tape.clock(), msg))
        await route(msg)

    def observed(name: str, value_ms: float) -> None:
        tape.observed.append((tape.clock(), name, value_ms))
        observe(name, value_ms)

    daemon.route = routed  # type: ignore[method-assign]
    daemon.metrics.observe_ms = observed  # type: ignore[method-assign]
    engine = getattr(daemon.parts.backend, "engine", None)
    if engine is not None:  # the local engine: time its model runs
        engine._runner._session = TimedSession(engine._runner._session, tape)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    a = np.asarray(values)
    return {
        "n": len(values),
        "median": round(float(np.median(a)), 1),
        "max": round(float(a.max()), 1),
    }


def fmt(s: dict[str, float]) -> str:
    return "n/a" if not s.get("n") else f"{s['median']:.1f} (max {s['max']:.1f})"


def run(args: argparse.Namespace) -> dict[str, Any]:
    model, built_by = bench_llm.build_model(args.cache, args.tiny, lambda m: print(m, flush=True))
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        sim_args = ["--pty", "--link", f"{tmp}/tty", "--web-port", "0", "-q"]
        with SimulatorProcess(*sim_args, "--profile", args.profile) as sim:
            overrides = [
                f"display.url={sim.url}",
                "asr.partials=false",
                "camera.idle_close_s=60",
                f"llm.model={model}",
                f"llm.max_new_tokens={args.max_new_tokens}",
            ]
            if args.asr_model:
                overrides.append(f"asr.model_dir={args.asr_model}")
            settings = load_settings(overrides=overrides)
            audio = PushAudioSource()
            parts = Parts(audio=lambda: audio)
            add_vad(parts)
            add_recognizer(settings, parts)
            real_asr = parts.recognizer is not None
            parts.recognizer = parts.recognizer or FixedText()
            sign = media.sign_image()
            add_camera(settings, parts, lambda: ThreadedCamera(LoopingImageReader(sign, 30.0)))
            rss_before_llm_mb = bench_llm.rss_bytes() / 2**20
            add_backend(settings, parts)
            if parts.backend is None:
                raise SystemExit(f"the model did not load: {'; '.join(parts.notes)}")
            rss_llm_mb = bench_llm.rss_bytes() / 2**20
            daemon, tape = Daemon(settings, parts), Tape()
            record(daemon, tape)
            runner = DaemonThread(daemon).start()
            try:
                report = measure(args, runner, audio, tape)
            finally:
                runner.stop()
    report["setup"] = {
        "model": "tiny 2-layer Qwen2 (smoke run)" if args.tiny else "Qwen2.5-0.5B-shaped, int4",
        "model_dir": str(model),
        "built_by": built_by,
        "real_asr": real_asr,
        "max_new_tokens": args.max_new_tokens,
        "profile": args.profile,
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }
    report["resources"].update(
        rss_before_llm_mb=round(rss_before_llm_mb), rss_after_llm_load_mb=round(rss_llm_mb)
    )
    return report


def measure(
    args: argparse.Namespace, runner: DaemonThread, audio: Any, tape: Tape
) -> dict[str, Any]:
    d = runner.daemon
    hist = d.metrics.histograms
    listen = d.stages["listen"]

    def speak(i: int) -> None:
        audio.push(media.utterance(LINES[i % len(LINES)], "en"))
        runner.wait_until(lambda d: listen.heard_samples >= audio.delivered_samples, 30, "speech")

    asr, wire, present = [], [], []
    for i in range(args.utterances):
        before = count(hist, "e2e.FinalTranscript_to_present")
        speak(i)
        grew(runner, hist, "e2e.FinalTranscript_to_present", before)
        asr.append(hist["asr.final"].last_ms)
        wire.append(hist["e2e.FinalTranscript_to_wire"].last_ms)
        present.append(hist["e2e.FinalTranscript_to_present"].last_ms)

    runner.post(SetMode(Mode.TRANSLATE))
    runner.wait_idle()
    translations: list[dict[str, float]] = []
    warmup: list[dict[str, float]] = []  # the first translation: the system prompt not cached
    for i in range(args.translations + 1):  # the first one warms the model up: not counted
        mark = (len(tape.messages), len(tape.observed), len(tape.runs))
        dones = sum(isinstance(m, LlmDone) for _, m in tape.messages)
        speak(i)
        runner.wait_until(
            lambda d, n=dones: sum(isinstance(m, LlmDone) for _, m in tape.messages) > n,
            120,
            "LlmDone",
        )
        runner.wait_idle()
        (translations if i else warmup).append(translation_figures(tape, mark))

    runner.post(SetMode(Mode.READ))
    ocr, ocr_wire, ocr_present = [], [], []
    for _ in range(args.captures):
        before = count(hist, "e2e.OcrText_to_present")
        runner.post(UserInput(Intent.ACTION))
        grew(runner, hist, "e2e.OcrText_to_present", before)
        ocr.append(hist["ocr.read"].last_ms)
        ocr_wire.append(hist["e2e.OcrText_to_wire"].last_ms)
        ocr_present.append(hist["e2e.OcrText_to_present"].last_ms)

    runner.post(SetMode(Mode.TRANSLATE))  # listening with the model loaded
    runner.wait_idle()
    audio.realtime = True  # from now on a microphone in a quiet room (it adds the silence)
    time.sleep(min(1.0, args.silence_s))  # let the pacing settle before measuring
    cpu0, wall0, heard0 = cpu_s(), time.monotonic(), listen.heard_samples
    time.sleep(args.silence_s)
    wall_s = time.monotonic() - wall0
    cpu_share = (cpu_s() - cpu0) / wall_s
    heard_s = (listen.heard_samples - heard0) / 16000
    render = hist["display.render"]
    t = {key: [f[key] for f in translations] for key in translations[0]} if translations else {}
    overhead = t.get("overhead_to_wire_ms", [])
    return {
        "captions": {
            "segmenter_silence_ms": round(float(d.settings.audio.min_silence_s) * 1000),
            "asr_ms": stats(asr),
            "final_to_wire_ms": stats(wire),
            "final_to_present_ms": stats(present),
            "render_mean_ms": round(render.total_ms / max(render.count, 1), 1),
        },
        "translate": {
            "runs": translations,
            "warmup": warmup[0],
            **{key: stats(values) for key, values in t.items()},
        },
        "read": {
            "ocr_ms": stats(ocr),
            "ocr_to_wire_ms": stats(ocr_wire),
            "ocr_to_present_ms": stats(ocr_present),
        },
        "resources": {
            "idle_cpu_percent": round(100 * cpu_share, 2),
            "idle_wall_s": round(wall_s, 1),
            "idle_heard_s": round(heard_s, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        },
        "goals": {
            "overhead_to_wire_ms": {
                "goal": GOAL_OVERHEAD_MS,
                "value": max(overhead, default=None),
                "met": bool(overhead) and max(overhead) < GOAL_OVERHEAD_MS,
            },
            "idle_cpu_percent": {
                "goal": GOAL_IDLE_CPU_PERCENT,
                "value": round(100 * cpu_share, 2),
                "met": 100 * cpu_share < GOAL_IDLE_CPU_PERCENT,
            },
        },
    }


def translation_figures(tape: Tape, mark: tuple[int, int, int]) -> dict[str, float]:
    """One translation, from the tape since ``mark``: the final text, the first delta with
    text, and the first presented screen caused by a delta (its wire and present times)."""
    messages, observed, runs = (
        tape.messages[mark[0] :],
        tape.observed[mark[1] :],
        tape.runs[mark[2] :],
    )
    final = next(m for _, m in messages if isinstance(m, FinalTranscript))
    delta = next(m for _, m in messages if isinstance(m, LlmDelta) and m.text)
    present_at = wire_at = None
    for i, (at_s, name, value_ms) in enumerate(observed):
        if name != "e2e.LlmDelta_to_present":
            continue
        cause_at_s = at_s - value_ms / 1000  # the stage measured now - cause_at_s
        if cause_at_s < delta.at_s - 1e-3:
            continue  # a screen from before this translation's first text
        present_at = at_s
        wire = [v for _, n, v in observed[i + 1 : i + 3] if n == "e2e.LlmDelta_to_wire"]
        wire += [v for _, n, v in observed[max(0, i - 2) : i] if n == "e2e.LlmDelta_to_wire"]
        wire_at = cause_at_s + wire[0] / 1000 if wire else None
        break
    if present_at is None or wire_at is None:
        raise RuntimeError("no presented screen with the translation's first text")
    model_s = sum(end - start for start, end in runs if final.at_s <= start and end <= delta.at_s)
    model_runs = sum(1 for start, end in runs if final.at_s <= start and end <= delta.at_s)
    to_wire_ms = (wire_at - final.at_s) * 1000
    return {
        "final_to_first_delta_ms": round((delta.at_s - final.at_s) * 1000, 1),
        "model_compute_ms": round(model_s * 1000, 1),
        "model_runs": model_runs,
        "first_delta_to_wire_ms": round((wire_at - delta.at_s) * 1000, 1),
        "wire_to_present_ms": round((present_at - wire_at) * 1000, 1),
        "final_to_wire_ms": round(to_wire_ms, 1),
        "final_to_present_ms": round((present_at - final.at_s) * 1000, 1),
        "overhead_to_wire_ms": round(to_wire_ms - model_s * 1000, 1),
        "overhead_share_percent": round(100 * (1 - model_s * 1000 / to_wire_ms), 1),
    }


def count(hist: dict[str, Any], name: str) -> int:
    return int(hist[name].count) if name in hist else 0


def grew(runner: DaemonThread, hist: dict[str, Any], name: str, before: int) -> None:
    """Wait until histogram ``name`` has a new value, then until the pipeline is idle."""
    runner.wait_until(lambda d: count(hist, name) > before, 30, name)
    runner.wait_idle()


def markdown(args: argparse.Namespace, r: dict[str, Any]) -> str:
    s, c, t, rd, res = r["setup"], r["captions"], r["translate"], r["read"], r["resources"]
    goals, w = r["goals"], r["translate"]["warmup"]
    yes = {True: "**met**", False: "**not met**"}
    command = (
        f"nice python scripts/bench_e2e.py --utterances {args.utterances} "
        f"--translations {args.translations} --captures {args.captures} "
        f"--silence-s {args.silence_s:g} --profile {args.profile} "
        f"--max-new-tokens {args.max_new_tokens}" + (" --tiny" if args.tiny else "")
    )
    sign = media.sign_image()
    lines = [
        MARK_START,
        "## End to end: speech and reading to pixels on the glasses (`scripts/bench_e2e.py`)",
        "",
        f"`{command}` (in a virtual environment made by `scripts/setup.sh`; the model was "
        f"already in bench_llm's cache) on "
        f"{s['machine']} ({s['cores']} cores, shared with other work), Python {s['python']}, "
        f"{s['date']}. Simulated display {s['profile']} over a pty at 921600 baud (emulated). "
        f"LLM: the local engine on {s['model']} with random weights (built by {s['built_by']}, "
        f"as in the LLM benchmark), default settings (2048-token context, one thread per "
        f"physical core). ASR: "
        f"{'SenseVoice' if s['real_asr'] else 'stand-in recogniser (no SenseVoice model here: 0 ms)'}.",
        "",
        "| figure (ms, median (max)) | value |",
        "| --- | --- |",
        f"| captions: utterance end seen by the segmenter, after the voice stops (`audio.min_silence_s`) | {c['segmenter_silence_ms']} |",
        f"| captions: utterance end -> final text (ASR compute) | {fmt(c['asr_ms'])} |",
        f"| captions: final text -> first BLIT bytes on the wire | {fmt(c['final_to_wire_ms'])} |",
        f"| captions: final text -> PRESENT acknowledged | {fmt(c['final_to_present_ms'])} |",
        f"| rendering a screen (Pillow, mean over all screens) | {c['render_mean_ms']:.1f} |",
        f"| translate ({len(t['runs'])} utterances after one warm-up): final text -> first LLM text | {fmt(t['final_to_first_delta_ms'])} |",
        f"| of which model compute (`session.run`: prefill + decode steps until the first text) | {fmt(t['model_compute_ms'])} |",
        f"| translate: first LLM text -> first BLIT bytes on the wire | {fmt(t['first_delta_to_wire_ms'])} |",
        f"| translate: first BLIT bytes -> PRESENT acknowledged | {fmt(t['wire_to_present_ms'])} |",
        f"| translate: final text -> first BLIT bytes on the wire | {fmt(t['final_to_wire_ms'])} |",
        f"| translate: final text -> first caption PRESENT acknowledged | {fmt(t['final_to_present_ms'])} |",
        f"| **translate: final text -> first BLIT, not model compute** | **{fmt(t['overhead_to_wire_ms'])}** |",
        f"| share of final text -> first BLIT that is not model compute (%) | {fmt(t['overhead_share_percent'])} |",
        f"| the same for the warm-up utterance (first run of the model, its system prompt not yet cached): model compute / total / not model compute | {w['model_compute_ms']:.1f} / {w['final_to_wire_ms']:.1f} / {w['overhead_to_wire_ms']:.1f} |",
        f"| read: OCR compute (RapidOCR, a {sign.shape[1]}x{sign.shape[0]} sign, 3 lines) | {fmt(rd['ocr_ms'])} |",
        f"| read: OCR result -> first BLIT bytes on the wire | {fmt(rd['ocr_to_wire_ms'])} |",
        f"| read: OCR result -> PRESENT acknowledged | {fmt(rd['ocr_to_present_ms'])} |",
        "",
        "| resource | value |",
        "| --- | --- |",
        f"| CPU while listening to silence (translate mode, model loaded; {res['idle_heard_s']:.1f} s of audio through the VAD in {res['idle_wall_s']:.1f} s) | {res['idle_cpu_percent']:.1f} % of one core |",
        f"| RSS before loading the LLM (VAD, OCR, fonts) | {res['rss_before_llm_mb']} MB |",
        f"| RSS after loading the LLM | {res['rss_after_llm_load_mb']} MB |",
        f"| peak RSS of the daemon process over the run (model loaded, after all of the above) | {res['peak_rss_mb']} MB |",
        "",
        "| goal (issue 5) | measured | |",
        "| --- | --- | --- |",
        f"| everything but model compute, final text -> first BLIT, < {GOAL_OVERHEAD_MS:g} ms | max {goals['overhead_to_wire_ms']['value']} ms | {yes[goals['overhead_to_wire_ms']['met']]} |",
        f"| idle and listening < {GOAL_IDLE_CPU_PERCENT:g} % of one core | {res['idle_cpu_percent']:.1f} % | {yes[goals['idle_cpu_percent']['met']]} |",
        f"| peak RSS with the 0.5B int4 model < {GOAL_PEAK_RSS_MB / 1000:g} GB | {res['peak_rss_mb']} MB | {yes[res['peak_rss_mb'] < GOAL_PEAK_RSS_MB]} |",
        "",
        'How to read it. "Model compute" is the wall time inside `session.run` between the final',
        "text and the first text delta; everything else on the way to the first BLIT (the",
        "controller, the chat template and tokeniser, sampling, the hand-over from the model's",
        "thread to the loop, rendering, the compositor on the link's I/O thread, the first write)",
        "is the pipeline's overhead, which is what the 30 ms goal bounds. With the system prompt",
        "in the engine's prefix cache (every utterance after the first) the model only prefills the",
        "user turn, so one run gives the first token. The weights are random: the first token is",
        "arbitrary text, but the prompt lengths, the shapes and hence the compute are real; with",
        "real weights a first token that is half of a multi-byte character needs one more decode",
        "step before there is text to show, which adds model compute, not overhead. The warm-up",
        "row is the first translation after loading (system prompt not cached, first run of each",
        "shape): it is not counted in the medians and can exceed the goal. Only the first streamed",
        "screen is timed, and it differs from the previous one by a short line, so its PRESENT",
        "follows the BLIT within a few ms; a captions screen scrolls and takes longer. Figures on",
        "this shared 2-core machine vary between runs by tens of ms in model compute and a few ms",
        "in overhead; the maxima are the busy moments. Idle CPU is the Silero VAD on real-time",
        "silence with the model loaded and idle. The peak RSS is reached after the model is",
        "loaded, while generating and reading (RapidOCR), not at load time.",
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        tail = rest.split(MARK_END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--utterances", type=int, default=5, help="captions mode")
    parser.add_argument("--translations", type=int, default=4, help="translate mode, + 1 warm-up")
    parser.add_argument("--captures", type=int, default=3)
    parser.add_argument("--silence-s", type=float, default=10.0)
    parser.add_argument("--profile", default="640x400x4")
    parser.add_argument("--asr-model", metavar="DIR")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/glasses-bench-llm"))
    parser.add_argument("--tiny", action="store_true", help="bench_llm's tiny model (smoke run)")
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=24,
        help="reply length (only the first text matters here; keeps the run short)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures as JSON")
    parser.add_argument("--write", type=Path, metavar="MD", help="put the section into this file")
    args = parser.parse_args()
    report = run(args)
    section = markdown(args, report)
    print(section)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
