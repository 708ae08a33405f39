"""Clause-by-clause translation end to end: a 12 s utterance, real Silero VAD on synthesised
speech, the tiny test Qwen (random weights, greedy) on the real engine, the real link to
``glasses-sim``: translated text is on the simulated glasses before the speaker stops.

"Before the speaker stops" is checked with time as data: the first two thirds of the speech
are pushed, the daemon is left to finish its work, and the screen is read while the utterance
is still open (the segmenter is inside speech and no final transcript was sent). The
recogniser is a stand-in that knows when each word of the script was spoken (it finds the
segment it is given inside the pushed audio), so partials grow as real ones do; no real
speech model can run in CI.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from firmware_bridge.protocol.geometry import DisplayGeometry
from glasses.display.raster import Renderer
from glasses.display.views import CaptionView, Screen
from glasses.llm.backend import LocalBackend
from glasses.llm.generator import GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.modes.clause_prompts import clause_messages
from glasses.modes.clauses import join_text, word_spans
from glasses.modes.translate import TranslateMode
from glasses.perception.asr import Recognition
from glasses.runtime.daemon import Daemon
from glasses.runtime.daemon_thread import DaemonThread
from glasses.runtime.feeds import PushAudioSource
from glasses.runtime.listen_stage import ListenStage
from glasses.runtime.parts import Parts
from glasses.settings import load_settings

pytest.importorskip("onnxruntime")
pytest.importorskip("hw_sim.launcher")
from perception_support.speech import phrase, silence

from hw_sim.launcher import SimulatorProcess

pytestmark = pytest.mark.model

CLAUSES = (
    "Good morning everyone, ",
    "welcome to the city museum on the lake, ",
    "today we will walk through three large galleries, ",
    "the first one shows old maps of the river and the town, ",
    "and the last one has paintings of the lake in winter.",
)
GAP_S = 0.25  # between clauses: shorter than the 0.5 s that ends an utterance
MAX_TOKENS = 24
WAIT_S = 60.0


class ScriptedSpeech:
    """The script's audio, and a recogniser that returns the words spoken so far."""

    def __init__(self) -> None:
        parts, self.word_ends = [silence(0.3)], []
        at = len(parts[0])
        for clause in CLAUSES:
            voice = phrase(clause.strip())
            spans = word_spans(clause)
            for i, (_, end) in enumerate(spans):  # words spread evenly over their clause
                said = clause.rstrip() if i == len(spans) - 1 else clause[:end]  # with its mark
                self.word_ends.append((at + len(voice) * (i + 1) // len(spans), said))
            parts += [voice, silence(GAP_S)]
            at += len(voice) + len(parts[-1])
        self.speech_end = at
        self.audio = np.concatenate([*parts, silence(1.2)]).astype(np.float32)
        self.prefixes = [sum(len(c) for c in CLAUSES[:i]) for i in range(len(CLAUSES))]

    def heard(self, end_sample: int) -> str:
        """The script up to the last word whose end lies before ``end_sample``."""
        text = ""
        for word_end, clause_prefix in self.word_ends:
            if word_end > end_sample:
                break
            clause = next(i for i, c in enumerate(CLAUSES) if c.startswith(clause_prefix))
            text = "".join(CLAUSES[:clause]) + clause_prefix
        return text

    def recognize(self, samples: Any, sample_rate_hz: int = 16_000) -> Recognition:
        start = self._find(np.asarray(samples, dtype=np.float32))
        return Recognition(self.heard(start + len(samples)).strip(), "en")

    def _find(self, samples: np.ndarray) -> int:
        """Where the segment starts in the pushed audio (it is an exact copy of a slice)."""
        head = samples[: min(64, len(samples))]
        loud = int(np.argmax(np.abs(head)))
        for i in np.flatnonzero(self.audio == head[loud]):
            start = int(i) - loud
            if start >= 0 and np.array_equal(self.audio[start : start + len(head)], head):
                return start
        raise AssertionError("the recogniser was given audio that was never pushed")


def reply(engine: Any, k: int, clauses: list[str]) -> str:
    tokens = min(MAX_TOKENS, 16 + 3 * len(word_spans(clauses[k])))
    messages = clause_messages(clauses[:k], clauses[k], "en", "zh")
    return str(
        engine.generate(messages, GenerationOptions(tokens, SamplingConfig(greedy=True))).text
    )


@pytest.fixture
def rig(
    sim_process: Callable[..., SimulatorProcess], llm_engine: Callable[[str], Any]
) -> Iterator[tuple[SimulatorProcess, DaemonThread[Daemon], PushAudioSource, ScriptedSpeech]]:
    from glasses.perception.vad import SileroVad

    sim = sim_process("--profile", "576x136x1", "-q")
    speech = ScriptedSpeech()
    audio = PushAudioSource()
    overrides = [
        f"display.url={sim.url}",
        "modes.start=translate",
        f"llm.max_new_tokens={MAX_TOKENS}",
        "llm.temperature=0",
        "translate.commit=clause",
        # Clauses end at the script's commas only (no pause or length cut), so the expected
        # prompts are known in advance.
        "translate.clause_pause_s=5.0",
        "translate.clause_max_words=50",
    ]
    parts = Parts(
        audio=lambda: audio,
        vad=SileroVad(),
        recognizer=speech,
        backend=LocalBackend(llm_engine("optimum-qwen2-fp32")),
    )
    runner = DaemonThread(Daemon(load_settings(overrides=overrides), parts))
    runner.start(WAIT_S)
    try:
        yield sim, runner, audio, speech
    finally:
        runner.stop()


def say(runner: DaemonThread[Daemon], audio: PushAudioSource, samples: np.ndarray) -> None:
    """Push ``samples`` a few chunks at a time, each heard before the next: the listen stage
    never falls behind, so it keeps its partials (it sheds them when audio queues up)."""
    listen = runner.daemon.stages["listen"]
    assert isinstance(listen, ListenStage)
    step = 3 * 1600  # three of the source's 0.1 s chunks
    for at in range(0, len(samples), step):
        audio.push(samples[at : at + step])
        runner.wait_until(lambda d: listen.heard_samples >= audio.pushed_samples, WAIT_S, "audio")
    runner.wait_idle(WAIT_S)


def shown(sim: SimulatorProcess, renderer: Renderer, screen: Screen) -> bool:
    scale = 255 // renderer.geometry.max_level
    return np.array_equal(sim.screen(), renderer.render(screen).astype(np.uint8) * scale)


def wait_shown(sim: SimulatorProcess, renderer: Renderer, runner: DaemonThread[Daemon]) -> Screen:
    """The daemon's current screen, once the simulator's panel shows exactly it."""
    deadline = time.monotonic() + WAIT_S
    controller = runner.daemon.controller
    assert controller is not None
    while True:
        screen = runner.call(lambda: controller.screen)
        assert screen is not None
        if shown(sim, renderer, screen):
            return screen
        assert time.monotonic() < deadline, f"the panel never showed {screen}"
        runner.wait_idle(WAIT_S)  # then look again: a newer screen may be on its way


def test_a_12_s_utterance_is_translated_on_the_glasses_before_the_speaker_stops(
    rig: tuple[SimulatorProcess, DaemonThread[Daemon], PushAudioSource, ScriptedSpeech],
    llm_engine: Callable[[str], Any],
) -> None:
    sim, runner, audio, speech = rig
    daemon = runner.daemon
    controller, listen = daemon.controller, daemon.stages["listen"]
    assert controller is not None and isinstance(listen, ListenStage)
    assert 11.0 <= speech.speech_end / 16_000 <= 15.0
    engine = llm_engine("optimum-qwen2-fp32")
    clauses = [c.strip() for c in CLAUSES]
    renderer = Renderer(DisplayGeometry(sim.info["width"], sim.info["height"], sim.info["bpp"]))

    # Two thirds of the speech: the speaker is still talking.
    say(runner, audio, speech.audio[: speech.speech_end * 2 // 3])
    assert runner.call(lambda: listen.pipeline.segmenter.state) == "speech"
    mode = runner.call(lambda: controller.modes[controller.mode])
    assert isinstance(mode, TranslateMode) and mode.clauses is not None
    assert mode.clauses.turn == 0, "the utterance must still be open"
    screen = wait_shown(sim, renderer, runner)
    first = controller.ctx.screen_text(reply(engine, 0, clauses))
    assert first, "the tiny model said nothing drawable"
    assert isinstance(screen.body, CaptionView) and screen.body.final
    assert screen.body.final[0].startswith(first)  # the first clause, translated and final

    # The rest: every clause translated once, with the clauses before it as context.
    say(runner, audio, speech.audio[speech.speech_end * 2 // 3 :])
    assert mode.clauses.turn == 1
    line = ""
    for k in range(len(clauses)):
        line = join_text(line, controller.ctx.screen_text(reply(engine, k, clauses)))
    screen = wait_shown(sim, renderer, runner)
    assert screen.body == CaptionView(final=(line,), max_lines=3)
