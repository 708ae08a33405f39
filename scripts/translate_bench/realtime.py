"""Real time on the simulated glasses: one utterance through the real daemon and a real
``glasses-sim display`` process, the audio fed at the pace of the real clock.

The daemon is wired as ``tests/test_translate_e2e.py`` wires it (:class:`Parts` with a
:class:`PushAudioSource` as the microphone, the real Silero VAD, a scripted recogniser, a
backend on the tiny Qwen), with the text stand-ins of the time-as-data bench
(:mod:`translate_bench.simulate`): the segment-aware scripted recogniser, timed as the tiny
SenseVoice decoding the same audio, and ``tests/translate_support``'s table as the translator,
timed as the tiny Qwen generating as many tokens as the table's reply has.

What counts as "on the glasses": the host-side moment the display link's wait for the
simulator's acknowledgement of a screen's PRESENT returns (the simulator acknowledges a PRESENT
once it has carried it out; it keeps no log of its frames, only the time of the last one). The
screen logged with it is the one the display stage rendered and sent. Word ends are on the same
clock (``time.monotonic``): the source hands out the utterance's sample ``s`` at ``s / 16 kHz``
after its pacing starts, as a microphone would.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from translate_support import reply  # type: ignore[import-not-found]

from firmware_bridge.stats import LinkState
from glasses.display.views import CaptionView, Screen
from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.perception.transcriber import Transcriber
from glasses.runtime.daemon import Daemon
from glasses.runtime.daemon_thread import DaemonThread
from glasses.runtime.display_stage import DisplayStage
from glasses.runtime.feeds import PushAudioSource
from glasses.runtime.listen_stage import ListenStage
from glasses.runtime.parts import Parts
from glasses.settings import load_settings
from translate_bench.simulate import Run, ScriptedRecognizer, SegmentTranscriber
from translate_bench.speech import RATE, Speech

WAIT_S: Final = 60.0  # start-up, and the pipeline settling after the audio: far above either
MAX_PRESENTS: Final = 10_000  # screens acknowledged in one run: a runaway display loop beyond
PROFILE: Final = "576x136x1"  # the simulated panel (the e2e test's)


class StandInBackend:
    """A ``ChatBackend``: the table's reply, once the tiny model has generated as many tokens
    as it has from the real prompt (cancelled within a token, as the local backend is)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    @property
    def source(self) -> str:
        return "local"

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        text = str(reply(messages))
        limit = options.max_new_tokens if options is not None else 256
        tokens = max(1, min(limit, len(self.engine.tokenizer.encode(text))))
        stream = self.engine.stream(
            messages, GenerationOptions(tokens, SamplingConfig(greedy=True)), cancel
        )
        try:
            for _ in stream:
                pass
        finally:
            stream.close()
        if cancel is None or not cancel.cancelled:
            yield text  # whole, at the end: as the time-as-data bench delivers it


class PresentLog:
    """The screens the simulator acknowledged, with the host's time of each acknowledgement."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.rendered: Screen | None = None  # the screen the display stage is sending
        self.presented: list[tuple[float, Screen]] = []

    def acked(self) -> None:
        if self.rendered is None:
            return
        if len(self.presented) >= MAX_PRESENTS:
            raise RuntimeError(f"more than {MAX_PRESENTS} screens in one run: a display loop?")
        self.presented.append((self.clock(), self.rendered))


class _TapRenderer:
    def __init__(self, inner: Any, log: PresentLog) -> None:
        self.inner, self.log = inner, log

    def render(self, screen: Screen) -> npt.NDArray[np.integer]:
        self.log.rendered = screen
        levels: npt.NDArray[np.integer] = self.inner.render(screen)
        return levels

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _TapLink:
    def __init__(self, inner: Any, log: PresentLog) -> None:
        self.inner, self.log = inner, log

    def show(self, levels: npt.NDArray[np.integer]) -> None:
        self.inner.show(levels)

    def wait_presented(self, timeout_s: float) -> bool:
        done = bool(self.inner.wait_presented(timeout_s))
        if done:
            self.log.acked()
        return done

    @property
    def state(self) -> LinkState:
        state: LinkState = self.inner.state
        return state


class TappedDaemon(Daemon):
    """The daemon, with the bench's segment-aware transcriber in its listen stage and its
    display stage's screens logged as the simulator acknowledges them."""

    def __init__(self, *args: Any, transcriber: Transcriber, log: PresentLog, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.transcriber, self.present_log = transcriber, log

    def _assemble(self, info: Any) -> Any:
        tasks = super()._assemble(info)
        listen, display = self.stages["listen"], self.stages["display"]
        if not isinstance(listen, ListenStage) or not isinstance(display, DisplayStage):
            raise RuntimeError("the daemon has no listen or display stage to measure")
        listen.pipeline.transcriber = self.transcriber
        display.renderer = _TapRenderer(display.renderer, self.present_log)  # type: ignore[assignment]
        display.link = _TapLink(display.link, self.present_log)
        return tasks


def settled(screen: Screen) -> str:
    """The translation a screen shows settled: final text, and the part of a dim tentative
    line that agreement drew settled (``CaptionView.settled``; 0 for a source-text partial)."""
    body = screen.body
    if not isinstance(body, CaptionView):
        return ""
    return "".join(body.final) + body.partial[: body.settled]


def run_realtime(speech: Speech, overrides: list[str], engine: Any, recognizer: Any) -> Run:
    """``speech`` spoken at 1x to the daemon, with settings ``overrides`` (the policy): the
    screens the simulator acknowledged, timed from the utterance's first sample."""
    from glasses.perception.vad import SileroVad
    from hw_sim.launcher import SimulatorProcess

    with tempfile.TemporaryDirectory(prefix="bench-translate-rt-") as tmp:
        link = ["--pty", "--link", str(Path(tmp) / "tty"), "--no-web"]
        with SimulatorProcess(
            *link, "--profile", PROFILE, "-q", log_path=Path(tmp) / "sim.log"
        ) as sim:
            audio, log = PushAudioSource(), PresentLog()
            scripted = ScriptedRecognizer(recognizer, speech)
            settings = load_settings(
                overrides=[
                    f"display.url={sim.url}",
                    "modes.start=translate",
                    "llm.temperature=0",
                    *overrides,
                ]
            )
            parts = Parts(
                audio=lambda: audio,
                vad=SileroVad(),
                recognizer=scripted,
                backend=StandInBackend(engine),
            )
            daemon = TappedDaemon(
                settings, parts, transcriber=SegmentTranscriber(scripted), log=log
            )
            runner = DaemonThread(daemon).start(WAIT_S)
            try:
                start_s = speak(runner, audio, speech.audio)
            finally:
                runner.stop()
    return Run(screens=[(at - start_s, settled(s), settled(s)) for at, s in log.presented])


def speak(runner: DaemonThread[TappedDaemon], audio: PushAudioSource, samples: np.ndarray) -> float:
    """Feed ``samples`` at 1x from now; wait for the daemon to finish with them. Returns the
    clock time of their first sample."""
    runner.wait_idle(WAIT_S)  # the first screens are up and nothing is pending
    if audio.delivered_samples:
        raise RuntimeError("the microphone stand-in handed out audio before the speech")
    start_s = time.monotonic()
    audio.realtime = True  # paced from now: a chunk is handed out once it has been "spoken"
    audio.push(samples)
    if audio.delivered_samples:  # the first chunk is due 0.1 s after the switch
        raise RuntimeError("silence went out before the speech (a loaded machine?): run again")
    spoken_s = len(samples) / RATE
    runner.wait_until(
        lambda d: audio.delivered_samples >= len(samples), spoken_s + WAIT_S, "the speech"
    )
    audio.realtime = False  # no more silence: the pipeline can go idle
    runner.wait_idle(WAIT_S)
    return start_s
