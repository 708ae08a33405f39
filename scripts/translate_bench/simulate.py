"""Time as data: the listen worker and the model worker each do one thing at a time (as the
daemon's workers do, each on its own core of two), every part runs for real and is timed, and
what it produces is delivered at the simulated time it would finish."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from translate_support import reply  # type: ignore[import-not-found]

from glasses.display.views import CaptionView, PageView
from glasses.llm.generator import GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.modes.base import ModeContext, ModeOptions
from glasses.modes.clauses import ClausePolicy
from glasses.modes.translate import TranslateMode
from glasses.perception.asr import Recognition
from glasses.perception.segmenter import SpeechEnded
from glasses.perception.speech import SpeechPipeline
from glasses.perception.transcriber import StreamingTranscriber, Transcript
from glasses.pipeline.messages import (
    CancelLlm,
    FinalTranscript,
    LlmDelta,
    LlmDone,
    LlmRequest,
    Message,
    PartialTranscript,
)
from glasses.runtime.listen_stage import BEHIND_CHUNKS
from glasses.sources.audio import AudioChunk
from translate_bench.speech import CHUNK, RATE, Speech, norm

Timed = list[tuple[float, Message]]


class ScriptedRecognizer:
    """The script's words in the stretch of audio it is given, timed as the tiny SenseVoice
    decoding that audio. ``start`` (where the stretch begins in the utterance's audio) is set
    by :class:`SegmentTranscriber` before each decode: time as data, no search."""

    def __init__(self, timed: Any, speech: Speech) -> None:
        self.timed, self.speech = timed, speech
        self.start, self.busy_s = 0, 0.0

    def recognize(self, samples: Any, sample_rate_hz: int = RATE) -> Recognition:
        started = time.perf_counter()
        self.timed.recognize(samples, sample_rate_hz)  # its output is bound to the same audio
        self.busy_s += time.perf_counter() - started
        text = self.speech.heard(self.start, self.start + len(samples))
        return Recognition(text, self.speech.language)


class SegmentTranscriber(StreamingTranscriber):
    """The daemon's re-decoding transcriber, telling the scripted recogniser where each
    segment (open or ended) begins."""

    def __init__(self, recognizer: ScriptedRecognizer) -> None:
        super().__init__(recognizer)
        self.scripted = recognizer

    def partial(self, start_sample: int, samples: Any) -> Transcript | None:
        self.scripted.start = start_sample
        return super().partial(start_sample, samples)

    def final(self, ended: SpeechEnded) -> Transcript:
        self.scripted.start = ended.start_sample
        return super().final(ended)


class Layout:
    """Every character drawable, lines never full: the translation is measured, not the panel."""

    def page_view(self, text: str) -> PageView:
        return PageView.from_text(text, lambda s: 10.0 * len(s), 4000, 3)

    def clean(self, text: str) -> str:
        return text

    def fits_line(self, text: str) -> bool:
        return True


def listen(speech: Speech, recognizer: Any, vad: Any) -> tuple[Timed, dict[str, float]]:
    """The listen worker over the audio: its messages, at the time each would be sent."""
    scripted = ScriptedRecognizer(recognizer, speech)
    vad.reset()
    pipeline = SpeechPipeline(vad=vad, transcriber=SegmentTranscriber(scripted))
    out: Timed = []
    free_s = busy_s = 0.0
    ends = [min(at + CHUNK, len(speech.audio)) / RATE for at in range(0, len(speech.audio), CHUNK)]
    for i, arrives_s in enumerate(ends):
        start_s = max(arrives_s, free_s)  # the worker may still be busy with earlier audio
        queued = sum(1 for e in ends[i + 1 :] if e <= start_s)
        pipeline.partials = queued < BEHIND_CHUNKS  # as the listen stage sheds them when behind
        chunk = AudioChunk(speech.audio[i * CHUNK : (i + 1) * CHUNK], i * CHUNK)
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
    finals = [msg.text for _, msg in out if isinstance(msg, FinalTranscript)]
    if norm("".join(finals)) != norm(speech.text):  # a word heard twice, or in no segment
        raise RuntimeError(
            f"bench bug: the final transcripts {finals!r} are not the script {speech.text!r}"
        )
    costs = {"asr_s": scripted.busy_s, "vad_s": busy_s - scripted.busy_s}
    return out, costs | {"segments": float(len(finals))}


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
