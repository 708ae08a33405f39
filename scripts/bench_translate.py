"""Translation that keeps pace (issue #14): whole-utterance against clause-by-clause translate
mode, side by side on the same synthesised speech.

    nice python scripts/bench_translate.py [--lengths 3 5 10 14] [--per-length 2]
                                           [--json OUT] [--write docs/benchmarks.md]

Faster than real time, with time as data: espeak-ng speech of 3 to 14 s utterances in
Mandarin and English goes in 0.1 s chunks through the real Silero VAD, segmenter and
transcriber into the real translate mode; every part runs for real and is timed, and what it
produces is delivered at the simulated time it would finish (a chunk arrives when it has been
spoken; the listen worker and the model each do one thing at a time, as the daemon's workers
do, each on its own core of two). The text comes from stand-ins, because random weights
give real timings but meaningless text: the recogniser's text is the script up to the word
being spoken (a half-spoken English word cut where the audio ends), and the translation is
``tests/translate_support``'s word-by-word table. The timings come from the tiny random-weight
SenseVoice (``scripts/build_test_asr_model.py``), decoding the same audio, and the tiny
random-weight Qwen (``scripts/build_test_model.py``), generating the stand-in's reply length
from the real prompt (the prefix cache at work as in the daemon).

Lag: for each source word, the time from the end of the word in the audio to when its
translation is settled on screen (final text, or a tentative word that agreement drew settled
and that is never taken back). Erasure: characters of translation drawn and then taken back
per character finally shown (on the settled text, and on all drawn text including the dim
tentative part). Cost: busy time of each worker per second of speech, and the prefill tokens
that re-translation added.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "scripts", ROOT / "tests"):  # run as a plain script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from translate_support import SPEECH, pieces, reply  # type: ignore[import-not-found]  # noqa: E402

from glasses.display.views import CaptionView, PageView  # noqa: E402
from glasses.llm.generator import GenerationOptions  # noqa: E402
from glasses.llm.sampling import SamplingConfig  # noqa: E402
from glasses.modes.base import ModeContext, ModeOptions  # noqa: E402
from glasses.modes.clauses import ClausePolicy, join_text, word_spans  # noqa: E402
from glasses.modes.prompts import translate_messages  # noqa: E402
from glasses.modes.translate import TranslateMode  # noqa: E402
from glasses.perception.asr import Recognition  # noqa: E402
from glasses.perception.speech import SpeechPipeline  # noqa: E402
from glasses.perception.transcriber import StreamingTranscriber, Transcript  # noqa: E402
from glasses.pipeline.messages import (  # noqa: E402
    CancelLlm,
    FinalTranscript,
    LlmDelta,
    LlmDone,
    LlmRequest,
    Message,
    PartialTranscript,
)
from glasses.runtime import media  # noqa: E402
from glasses.runtime.listen_stage import BEHIND_CHUNKS  # noqa: E402
from glasses.sources.audio import AudioChunk  # noqa: E402

MARK_START, MARK_END = "<!-- bench_translate:start -->", "<!-- bench_translate:end -->"
RATE = 16_000
CHUNK = 1600  # the microphone's 0.1 s chunks
GAP_S = 0.2  # between clauses: a breath, shorter than the pause that ends an utterance
GOAL_LAG_RATIO, GOAL_ERASURE = 1 / 3, 0.2
POLICIES = {"utterance": ClausePolicy(commit="utterance"), "clause": ClausePolicy()}


@dataclass
class Speech:
    """An utterance: its audio, text, language and when each word of the text ends."""

    audio: np.ndarray
    text: str
    language: str
    word_ends: list[tuple[int, int]]  # (character end in text, sample end in audio)

    @property
    def seconds(self) -> float:
        return self.word_ends[-1][1] / RATE - 0.3

    def heard(self, until: int) -> str:
        """What a recogniser that has heard ``until`` samples writes: the words spoken, and a
        half-spoken English word cut where the audio ends (what re-translation takes back)."""
        text, last_at = "", 0
        for end, at in self.word_ends:
            if at <= until:
                text, last_at = self.text[:end], at
                continue
            start = word_spans(self.text[:end])[-1][0]
            size = (end - start) * (until - last_at) // max(1, at - last_at)
            if self.language == "en" and 0 < size < end - start:
                text = join_text(text, self.text[start : start + size])
            break
        return text


def build_speech(clauses: list[str], language: str) -> Speech:
    """espeak-ng speech of ``clauses`` (a breath between them); each word's end is placed in
    its clause's audio by its length in characters."""
    lead = media.silence(0.3)
    parts, ends, text, at = [lead], [], "", len(lead)
    for clause in clauses:
        voice = media.speak(clause, language)
        spans = word_spans(clause)
        weight = np.cumsum([end - start for start, end in spans])
        base = len(join_text(text, clause)) - len(clause)
        for (_, end), w in zip(spans, weight, strict=True):
            stop = len(clause) if end == spans[-1][1] else end  # the last word with its mark
            ends.append((base + stop, at + round(len(voice) * float(w) / float(weight[-1]))))
        text = join_text(text, clause)
        parts += [voice, media.silence(GAP_S)]
        at += len(voice) + len(parts[-1])
    parts.append(media.silence(1.2))
    return Speech(np.concatenate(parts).astype(np.float32), text, language, ends)


def utterances(lengths: list[float], per_length: int) -> list[tuple[float, Speech]]:
    """For each length, ``per_length`` utterances per language, each at least that long."""
    out = []
    for language, bank in SPEECH.items():
        for length in lengths:
            for k in range(per_length):
                clauses: list[str] = []
                while True:
                    clauses.append(bank[(k * 3 + len(clauses)) % len(bank)])
                    speech = build_speech(clauses, language)
                    if speech.seconds >= length - 0.5 or len(clauses) > 3 * len(bank):
                        break
                out.append((length, speech))
    return out


class ScriptedRecognizer:
    """The script's text for what was heard, timed as the tiny SenseVoice decoding the audio."""

    def __init__(self, timed: Any, speech: Speech) -> None:
        self.timed, self.speech = timed, speech
        self.until, self.busy_s = 0, 0.0

    def recognize(self, samples: Any, sample_rate_hz: int = RATE) -> Recognition:
        started = time.perf_counter()
        self.timed.recognize(samples, sample_rate_hz)  # its output is bound to the same audio
        self.busy_s += time.perf_counter() - started
        return Recognition(self.speech.heard(self.until), self.speech.language)


class Layout:
    """Every character drawable, lines never full: the translation is measured, not the panel."""

    def page_view(self, text: str) -> PageView:
        return PageView.from_text(text, lambda s: 10.0 * len(s), 4000, 3)

    def clean(self, text: str) -> str:
        return text

    def fits_line(self, text: str) -> bool:
        return True


Timed = list[tuple[float, Message]]


def listen(speech: Speech, recognizer: Any, vad: Any) -> tuple[Timed, dict[str, float]]:
    """The listen worker over the audio: its messages, at the time each would be sent."""
    scripted = ScriptedRecognizer(recognizer, speech)
    vad.reset()
    pipeline = SpeechPipeline(vad=vad, transcriber=StreamingTranscriber(scripted))
    out: Timed = []
    free_s = busy_s = 0.0
    ends = [min(at + CHUNK, len(speech.audio)) / RATE for at in range(0, len(speech.audio), CHUNK)]
    for i, arrives_s in enumerate(ends):
        start_s = max(arrives_s, free_s)  # the worker may still be busy with earlier audio
        queued = sum(1 for e in ends[i + 1 :] if e <= start_s)
        pipeline.partials = queued < BEHIND_CHUNKS  # as the listen stage sheds them when behind
        chunk = AudioChunk(speech.audio[i * CHUNK : (i + 1) * CHUNK], i * CHUNK)
        scripted.until = chunk.end_sample
        started = time.perf_counter()
        events = pipeline.feed(chunk)
        took = time.perf_counter() - started
        busy_s, free_s = busy_s + took, start_s + took
        for event in events:
            if isinstance(event, Transcript) and event.is_final:
                out.append((free_s, FinalTranscript(event.text, event.language, event.end_s)))
            elif isinstance(event, Transcript):
                pause_s = pipeline.segmenter.pause_s
                msg = PartialTranscript(event.text, event.stable, event.language, free_s, pause_s)
                out.append((free_s, msg))
    return out, {"asr_s": scripted.busy_s, "vad_s": busy_s - scripted.busy_s}


@dataclass
class Run:
    """One policy on one utterance: the screens (time, settled text, all drawn text)."""

    screens: list[tuple[float, str, str]] = field(default_factory=list)
    llm_s: float = 0.0
    mode_s: float = 0.0
    prefill: dict[str, int] = field(default_factory=dict)  # prompt tokens computed, by job kind
    cancelled: int = 0


class ModelWorker:
    """The model, one generation at a time (``GenerateStage``): each really runs on the tiny
    model for as many tokens as the stand-in's reply has, and ends that much later."""

    def __init__(self, engine: Any, run: Run, push: Callable[[float, Message], None]) -> None:
        self.engine, self.run, self.push = engine, run, push
        self.running: tuple[int, float] | None = None  # request id, start
        self.waiting: LlmRequest | None = None  # the inbox holds the newest request only
        self.cancelled: set[int] = set()

    def request(self, msg: LlmRequest, kind: str, now: float) -> None:
        self.waiting, self.kind = msg, kind
        self.next(now)

    def cancel(self, request_id: int, now: float) -> None:
        self.cancelled.add(request_id)
        if self.running is not None and self.running[0] == request_id:
            self.run.llm_s += now - self.running[1]  # stopped within a token
            self.run.cancelled += 1
            self.running = None
            self.push(now, LlmDone(request_id, "", cancelled=True, at_s=now))
        elif self.waiting is not None and self.waiting.request_id == request_id:
            self.waiting = None
            self.push(now, LlmDone(request_id, "", cancelled=True, at_s=now))

    def done(self, msg: LlmDone, now: float) -> bool:
        """Whether ``msg`` still counts (not a request cancelled meanwhile)."""
        if msg.cancelled:
            return True
        if msg.request_id in self.cancelled or self.running is None:
            return False
        self.run.llm_s += now - self.running[1]
        self.running = None
        return True

    def next(self, now: float) -> None:
        if self.running is not None or self.waiting is None:
            return
        request, self.waiting = self.waiting, None
        text = reply(request.messages)
        tokens = max(1, min(request.max_new_tokens, len(self.engine.tokenizer.encode(text))))
        options = GenerationOptions(tokens, SamplingConfig(greedy=True))
        started = time.perf_counter()
        timings = self.engine.generate(request.messages, options).timings
        end = now + time.perf_counter() - started
        computed = timings.prompt_tokens - timings.cached_prompt_tokens
        self.run.prefill[self.kind] = self.run.prefill.get(self.kind, 0) + computed
        self.running = (request.request_id, now)
        self.push(end, LlmDelta(request.request_id, text, at_s=end))
        self.push(end, LlmDone(request.request_id, text, at_s=end))


def translate_run(events: Timed, policy: ClausePolicy, engine: Any) -> Run:
    """Translate mode, fed the listen worker's messages and the model's, in time order."""
    mode = TranslateMode(ModeContext(Layout(), ModeOptions(clauses=policy)))
    run = Run()
    queue: list[tuple[float, int, Message]] = []
    order = itertools.count()  # same time: first pushed, first handled

    def push(at_s: float, msg: Message) -> None:
        heapq.heappush(queue, (at_s, next(order), msg))

    worker = ModelWorker(engine, run, push)
    for at_s, msg in events:
        push(at_s, msg)
    while queue:
        now, _, msg = heapq.heappop(queue)
        if isinstance(msg, LlmDelta) and msg.request_id in worker.cancelled:
            continue
        if isinstance(msg, LlmDone) and not worker.done(msg, now):
            continue
        started = time.perf_counter()
        effects = mode.handle(msg)
        run.mode_s += time.perf_counter() - started
        for effect in effects:
            if isinstance(effect, CancelLlm):
                worker.cancel(effect.request_id, now)
            elif isinstance(effect, LlmRequest):
                job = mode.clauses.job if mode.clauses is not None else None
                worker.request(effect, job.kind if job else "utterance", now)
        worker.next(now)
        run.screens.append((now, *shown(mode)))
    return run


def shown(mode: TranslateMode) -> tuple[str, str]:
    """The translation on screen: settled (final and agreed) and all drawn (with the dim part)."""
    view = mode.body()
    if not isinstance(view, CaptionView):
        return "", ""
    final = "".join(view.final)
    tentative = mode.clauses.tentative if mode.clauses is not None else ""
    settled = final + view.partial[: view.settled] if tentative else final
    return settled, final + tentative


def _norm(text: str) -> str:
    """Letters and digits only: spacing and marks differ between clause-wise and whole."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _common(a: str, b: str) -> int:
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def lags(speech: Speech, run: Run) -> list[float]:
    """Per source word: end of the word in the audio -> its translation settled for good."""
    target = "zh" if speech.language == "en" else "en"
    cut = [(start, _norm(piece)) for start, _, piece in pieces(speech.text, target)]
    reference = "".join(piece for _, piece in cut)
    # the settled text's agreement with the reference, and from when on it never drops below
    matched = [_common(_norm(settled), reference) for _, settled, _ in run.screens]
    floor = list(itertools.accumulate(reversed(matched), min))[::-1]
    out = []
    for end, at in speech.word_ends:
        need = sum(len(piece) for start, piece in cut if start < end)  # the words it is in
        first = next((i for i, m in enumerate(floor) if m >= need), len(floor) - 1)
        out.append(run.screens[first][0] - at / RATE)
    return out


def erasure(run: Run, *, settled: bool) -> float:
    """Characters taken back per character finally shown (of the settled or all drawn text)."""
    shown_before, taken = "", 0
    for _, settled_text, drawn in run.screens:
        now = _norm(settled_text if settled else drawn)
        taken += len(shown_before) - _common(shown_before, now)
        shown_before = now
    return taken / max(1, len(shown_before))


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "p90": p90,
    }


def contention(recognizer: Any, engine: Any, audio: np.ndarray, repeats: int) -> dict[str, Any]:
    """ASR decodes of a 5 s utterance (a partial's work) alone, while the model generates on
    another thread, and while it generates at nice 10 (real threads, real clock)."""
    window = audio[: 5 * RATE]
    chat = translate_messages("today we will walk through three large galleries", "en", "zh")
    options = GenerationOptions(48, SamplingConfig(greedy=True))

    def decodes() -> list[float]:
        out = []
        for _ in range(repeats):
            started = time.perf_counter()
            recognizer.recognize(window)
            out.append((time.perf_counter() - started) * 1000)
        return out

    result: dict[str, Any] = {"alone_ms": _stats(decodes())}
    for name, nice in (("with_llm_ms", 0), ("with_llm_nice10_ms", 10)):
        stop, running = threading.Event(), threading.Event()

        def generate(
            nice: int = nice, stop: threading.Event = stop, running: threading.Event = running
        ) -> None:
            if nice:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
            while not stop.is_set():
                engine.generate(chat, options)
                running.set()

        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        running.wait(30)
        result[name] = _stats(decodes())
        stop.set()
        thread.join(30)
    return result


def measure(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
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
    vad = SileroVad()
    engine.generate(translate_messages("warm up", "en", "zh"), GenerationOptions(4))
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
        log(f"{speech.language} {speech.seconds:.1f} s: {speech.text[:60]}")
        events, costs = listen(speech, recognizer, vad)
        busy["vad_s"] += costs["vad_s"]
        busy["asr_s"] += costs["asr_s"]
        busy["speech_s"] += len(speech.audio) / RATE
        row = by_length.setdefault(
            f"{length:g}", {p: {"lags": [], "seconds": []} for p in POLICIES}
        )
        for name, policy in POLICIES.items():
            run = translate_run(events, policy, engine)
            row[name]["lags"] += lags(speech, run)
            row[name]["seconds"].append(speech.seconds)
            total = totals[name]
            total["llm_s"] += run.llm_s
            total["mode_s"] += run.mode_s
            total["cancelled"] += run.cancelled
            for kind, tokens in run.prefill.items():
                total["prefill"][kind] = total["prefill"].get(kind, 0) + tokens
            final = _norm(run.screens[-1][2])
            total["shown"] += len(final)
            total["taken"][0] += erasure(run, settled=True) * len(final)
            total["taken"][1] += erasure(run, settled=False) * len(final)
    lag = {
        length: {
            name: {**_stats(v["lags"]), "speech_s": statistics.fmean(v["seconds"])}
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
    log("ASR decodes against the model's generation")
    contended = contention(recognizer, engine, utterances([5.0], 1)[0][1].audio, args.repeats)
    ten = lag.get("10", {})
    ratio = ten["clause"]["median"] / ten["utterance"]["median"] if ten else None
    goals = {
        "lag_10s": {
            "ratio": ratio,
            "goal": GOAL_LAG_RATIO,
            "met": ratio is not None and ratio <= GOAL_LAG_RATIO,
        },
        "erasure": {
            "value": cost["clause"]["erasure_drawn"],
            "goal": GOAL_ERASURE,
            "met": cost["clause"]["erasure_drawn"] <= GOAL_ERASURE,
        },
    }
    setup = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"), "lengths": args.lengths, "per_length": args.per_length,
        "utterances": 2 * len(args.lengths) * args.per_length, "policy": repr(POLICIES["clause"]),
    }  # fmt: skip
    return {"setup": setup, "lag": lag, "cost": cost, "contention": contended, "goals": goals}


def markdown(report: dict[str, Any], command: str) -> str:
    s, lag, cost, con = report["setup"], report["lag"], report["cost"], report["contention"]
    out = [
        MARK_START,
        "## Translation that keeps pace: clause by clause against whole utterances (`scripts/bench_translate.py`)",
        "",
        f"`{command}` on {s['machine']} (shared with other work), Python {s['python']}, {s['date']}. "
        f"{s['utterances']} utterances of espeak-ng speech, half English (translated into Chinese), "
        "half Mandarin (into English), each run through both policies. **Faster than real time, "
        "time as data**: the VAD, the recogniser and the model run for real and are timed, and "
        "each result is delivered at the time it would be ready (one worker each, as in the "
        "daemon). **Timings** come from the tiny random-weight SenseVoice and Qwen "
        "(`scripts/build_test_asr_model.py`, `scripts/build_test_model.py`), decoding the same "
        "audio and generating as many tokens as the reply has from the real prompts. **Text** "
        "(hence lag, erasure and agreement) comes from stand-ins: the script up to the word being "
        "spoken as the recogniser's text, and `tests/translate_support`'s word-by-word table as "
        "the translator. Clause policy: the defaults (`translate.*`).",
        "",
        "Lag: for each source word, end of the word in the audio -> its translation settled on "
        "screen (seconds; average lagging is the mean).",
        "",
        "| utterance | words | whole utterance: median / p90 / mean | clause: median / p90 / mean | clause / whole (median) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for length, row in lag.items():
        u, c = row["utterance"], row["clause"]
        out.append(
            f"| {length} s (mean {u['speech_s']:.1f} s) | {u['n']} | {u['median']:.2f} / {u['p90']:.2f} / {u['mean']:.2f} "
            f"| {c['median']:.2f} / {c['p90']:.2f} / {c['mean']:.2f} | {c['median'] / u['median']:.2f} |"
        )
    u, c = cost["utterance"], cost["clause"]
    out += [
        "",
        "| cost (share of 2 cores over the audio; erasure per character shown) | whole utterance | clause |",
        "| --- | --- | --- |",
        f"| VAD | {u['vad_percent']:.2f} % | {c['vad_percent']:.2f} % |",
        f"| ASR (tiny SenseVoice, partials and finals) | {u['asr_percent']:.2f} % | {c['asr_percent']:.2f} % |",
        f"| translation (tiny Qwen) | {u['translation_percent']:.2f} % | {c['translation_percent']:.2f} % |",
        f"| the rest (translate mode) | {u['rest_percent']:.3f} % | {c['rest_percent']:.3f} % |",
        f"| prefill tokens computed: whole utterances / clauses / re-translation | {u['prefill_tokens'].get('utterance', 0)} / - / - "
        f"| {c['prefill_tokens'].get('utterance', 0)} / {c['prefill_tokens'].get('clause', 0)} / {c['prefill_tokens'].get('tentative', 0)} |",
        f"| re-translations cancelled | - | {c['cancelled']} |",
        f"| erasure, settled text | {u['erasure_settled']:.3f} | {c['erasure_settled']:.3f} |",
        f"| erasure, all drawn text (with the dim tentative part) | {u['erasure_drawn']:.3f} | {c['erasure_drawn']:.3f} |",
        "",
        "ASR partials against translation on the CPU (real threads and clock: a 5 s decode of the "
        "tiny SenseVoice, 2 threads, while the tiny Qwen generates without pause on another thread), ms:",
        "",
        "| ASR decode | median | p90 |",
        "| --- | --- | --- |",
    ]
    for key, name in (
        ("alone_ms", "alone"),
        ("with_llm_ms", "while the model generates"),
        ("with_llm_nice10_ms", "while the model generates at nice 10"),
    ):
        out.append(f"| {name} | {con[key]['median']:.1f} | {con[key]['p90']:.1f} |")
    out += ["", "| goal (issue 14) | measured | |", "| --- | --- | --- |"]
    g = report["goals"]
    ratio = g["lag_10s"]["ratio"]
    out.append(
        f"| 10 s utterances: clause lag at most a third of whole-utterance lag (median) | {ratio:.2f} | **{'met' if g['lag_10s']['met'] else 'not met'}** |"
        if ratio is not None
        else "| 10 s lag | not measured | |"
    )
    out.append(
        f"| erasure at most 0.2 (all drawn text) | {g['erasure']['value']:.3f} | **{'met' if g['erasure']['met'] else 'not met'}** |"
    )
    out += ["", MARK_END]
    return "\n".join(out)


def write_section(doc: Path, section: str) -> None:
    text = doc.read_text(encoding="utf-8")
    if MARK_START in text:
        head, rest = text.split(MARK_START, 1)
        text = head + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")


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
    args = parser.parse_args(argv)
    fields = {
        k: type(getattr(ClausePolicy(), k))(v)
        for k, v in (item.split("=", 1) for item in args.clause)
    }
    POLICIES["clause"] = ClausePolicy(**fields)
    if not media.have_espeak():
        print("bench_translate needs espeak-ng (apt install espeak-ng)", file=sys.stderr)
        return 2
    report = measure(args, lambda m: print(m, file=sys.stderr, flush=True))
    lengths = " ".join(f"{x:g}" for x in args.lengths)
    command = f"nice python scripts/bench_translate.py --lengths {lengths} --per-length {args.per_length} --repeats {args.repeats}"
    command += "".join(f" --clause {item}" for item in args.clause)
    section = markdown(report, command)
    print(section)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
