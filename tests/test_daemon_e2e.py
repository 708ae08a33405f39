"""The daemon end to end on the simulated glasses: real VAD on synthesised speech, real OCR on a
drawn sign, the tiny test Qwen (random weights, greedy), the real link to ``glasses-sim``.

Each mode's expected text is worked out independently (the same prompt through the engine),
drawn with the same renderer, and compared with the simulator's framebuffer pixel for pixel.
Buttons go through the simulator's API, so they cross the link like real presses. Every test
runs on both devices: the Python simulator (``glasses-sim display``) and the C reference
firmware under qemu-system-arm (``glasses-sim firmware``), where QEMU is installed.

The recogniser is scripted: no SenseVoice model can exist in CI, so this stand-in (returning
fixed text for each utterance the real VAD finds) is the one unit-level part of these tests.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.protocol.geometry import DisplayGeometry
from glasses.display.raster import Renderer
from glasses.display.views import CaptionView, LinkState, LlmSource, Mode, Screen, StatusBar
from glasses.llm.backend import LocalBackend
from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.modes import prompts
from glasses.modes.text import shorten
from glasses.perception.asr import Recognition
from glasses.pipeline.messages import AskText
from glasses.runtime.daemon import Daemon
from glasses.runtime.daemon_thread import DaemonThread
from glasses.runtime.display_stage import RendererLayout
from glasses.runtime.feeds import LoopingImageReader, PushAudioSource
from glasses.runtime.parts import Parts
from glasses.settings import load_settings
from glasses.sources.camera import ThreadedCamera

pytest.importorskip("onnxruntime")
pytest.importorskip("hw_sim.launcher")
from perception_support.speech import phrase, silence

from hw_sim.launcher import SimulatorProcess
from hw_sim.qemu_device import missing_tools

pytestmark = pytest.mark.model

PROFILE = "576x136x1"
MODEL = "optimum-qwen2-fp32"
MAX_TOKENS = 24
WAIT_S = 20.0


class ScriptedRecognizer:
    """Stand-in for SenseVoice: the text of each utterance, in order (see the module doc)."""

    def __init__(self, *heard: tuple[str, str]) -> None:
        self.heard = deque(heard)

    def recognize(self, samples: Any, sample_rate_hz: int = 16_000) -> Recognition:
        return Recognition(*self.heard.popleft()) if self.heard else Recognition("", "")


@pytest.fixture(scope="module", params=["display", "firmware"])
def sim(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulatorProcess]:
    """The glasses: ``glasses-sim display`` (Python) or ``glasses-sim firmware`` (C, QEMU)."""
    kind = str(request.param)
    if kind == "firmware" and (missing := missing_tools()):
        pytest.skip(f"{', '.join(missing)} not installed (scripts/setup.sh --test installs them)")
    tmp = tmp_path_factory.mktemp(kind)
    args = ("--pty", "--link", str(tmp / "tty"), "--web-port", "0", "--profile", PROFILE, "-q")
    if kind == "firmware":
        args += ("--relay",)  # the link-fault test pulls the cable
    with SimulatorProcess(*args, log_path=tmp / f"{kind}.log", command=kind) as process:
        yield process


@pytest.fixture(scope="module")
def renderer(sim: SimulatorProcess) -> Renderer:
    return Renderer(DisplayGeometry(sim.info["width"], sim.info["height"], sim.info["bpp"]))


@pytest.fixture(scope="module")
def vad() -> Any:
    from glasses.perception.vad import SileroVad

    return SileroVad()


@pytest.fixture
def engine(llm_engine: Callable[[str], Any]) -> Any:
    return llm_engine(MODEL)


def speech(text: str = "Next stop West Lake") -> np.ndarray:
    return np.concatenate([silence(0.3), phrase(text), silence(1.0)])


def greedy_reply(engine: Any, messages: Sequence[ChatMessage]) -> str:
    options = GenerationOptions(MAX_TOKENS, SamplingConfig(greedy=True))
    return str(engine.generate(messages, options).text)


class Rig:
    def __init__(self, sim: SimulatorProcess, runner: DaemonThread, audio: PushAudioSource):
        self.sim, self.runner, self.audio, self.daemon = sim, runner, audio, runner.daemon

    def say(self, samples: np.ndarray) -> None:
        self.audio.push(samples)
        listen = self.daemon.stages["listen"]
        self.runner.wait_until(
            lambda d: listen.heard_samples >= self.audio.pushed_samples, WAIT_S, "speech"
        )
        self.runner.wait_idle(WAIT_S)

    def press(self, action: str) -> None:
        before = self.runner.call(lambda: self.daemon.controller.inputs)
        status, _ = self.sim.post("/api/event", {"kind": "button", "action": action})
        assert status == 200
        self.runner.wait_until(lambda d: d.controller.inputs > before, WAIT_S, action)
        self.runner.wait_idle(WAIT_S)

    def expect(self, renderer: Renderer, screen: Screen) -> None:
        """The simulated panel shows exactly ``screen``."""
        scale = 255 // renderer.geometry.max_level
        expected = renderer.render(screen).astype(np.uint8) * scale
        deadline = time.monotonic() + WAIT_S
        while not np.array_equal(actual := self.sim.screen(), expected):
            if time.monotonic() > deadline:
                differ = int(np.count_nonzero(actual != expected))
                shown = self.runner.call(lambda: self.daemon.controller.screen)
                raise AssertionError(f"{differ} pixels differ; the daemon shows {shown}")
            threading.Event().wait(0.02)  # polling another process: nothing to wait on


@contextmanager
def rig(
    sim: SimulatorProcess,
    vad: Any,
    start: str = "captions",
    settings_set: Sequence[str] = (),
    **parts: Any,
) -> Iterator[Rig]:
    audio = PushAudioSource()
    overrides = [
        f"display.url={sim.url}",
        f"modes.start={start}",
        "asr.partials=false",
        f"llm.max_new_tokens={MAX_TOKENS}",
        "llm.temperature=0",
        "camera.idle_close_s=0",
        *settings_set,
    ]
    settings = load_settings(overrides=overrides)
    runner = DaemonThread(Daemon(settings, Parts(audio=lambda: audio, vad=vad, **parts)))
    runner.start(WAIT_S)
    try:
        yield Rig(sim, runner, audio)
    finally:
        runner.stop()


def status(mode: Mode, llm: LlmSource = LlmSource.LOCAL) -> StatusBar:
    return StatusBar(mode=mode, link=LinkState.CONNECTED, llm=llm)


def test_captions_reach_the_screen(sim: SimulatorProcess, renderer: Renderer, vad: Any) -> None:
    recognizer = ScriptedRecognizer(("下一站是西湖。", "zh"))
    with rig(sim, vad, recognizer=recognizer) as r:
        r.say(speech())
        r.expect(
            renderer,
            Screen(CaptionView(("下一站是西湖。",)), status(Mode.CAPTIONS, LlmSource.NONE)),
        )
        snapshot = r.daemon.snapshot()
        assert snapshot["metrics"]["latency"]["e2e.FinalTranscript_to_present"]["count"] == 1
        assert snapshot["peripherals"] == {"display": "up", "microphone": "up"}


def test_buttons_switch_modes_and_translation_streams(
    sim: SimulatorProcess, renderer: Renderer, vad: Any, engine: Any
) -> None:
    heard = "下一站是西湖。"
    recognizer = ScriptedRecognizer((heard, "zh"))
    with rig(sim, vad, recognizer=recognizer, backend=LocalBackend(engine)) as r:
        r.press("double")
        assert r.daemon.controller.mode is Mode.TRANSLATE
        r.say(speech())
        reply = greedy_reply(engine, prompts.translate_messages(heard, "zh", "en"))
        text = r.daemon.controller.ctx.screen_text(reply)
        assert text, "the tiny model said nothing drawable"
        r.expect(renderer, Screen(CaptionView((text,)), status(Mode.TRANSLATE)))
        latency = r.daemon.metrics.histograms
        assert latency["llm.first_token"].count == 1
        assert latency["e2e.LlmDelta_to_present"].count >= 1  # shown while it streamed
        r.press("double")
        r.press("double")
        r.press("double")
        assert r.daemon.controller.mode is Mode.CAPTIONS


def test_read_mode_reads_the_sign_and_shows_the_model_version(
    sim: SimulatorProcess, renderer: Renderer, vad: Any, engine: Any
) -> None:
    from perception_support.signs import draw, ocr_engine

    sign = draw([[(40, "出口 EXIT")], [(40, "2号线 Line 2")]], size=(640, 320), font_px=60)
    camera = lambda: ThreadedCamera(LoopingImageReader(sign, fps=30.0))  # noqa: E731
    with rig(sim, vad, "read", backend=LocalBackend(engine), camera=camera, ocr=ocr_engine()) as r:
        r.press("press")
        ctx = r.daemon.controller.ctx
        read = ctx.last_read_text
        assert "EXIT" in read and "出口" in read
        messages = prompts.read_messages(read, "translate", "en", ctx.options.read_max_chars)
        page = RendererLayout(renderer).page_view(ctx.screen_text(greedy_reply(engine, messages)))
        r.expect(renderer, Screen(page, status(Mode.READ)))
        assert r.daemon.peripherals["camera"] == "up"


def test_read_mode_without_a_model_shows_the_sign_as_read_with_its_spaces(
    sim: SimulatorProcess, renderer: Renderer, vad: Any
) -> None:
    from perception_support.signs import ocr_engine

    from glasses.modes.base import LLM_HINT
    from glasses.runtime.media import sign_image

    # ``glasses demo``'s sign: long rows mixing Chinese and English, which PP-OCR's recogniser
    # read as "西湖游船WestLakeboats" before its space scores were decoded.
    rows = ("西湖游船 West Lake boats", "票价 55元 Tickets 55 yuan", "出口 Exit B")
    sign = sign_image(rows)
    camera = lambda: ThreadedCamera(LoopingImageReader(sign, fps=30.0))  # noqa: E731
    with rig(sim, vad, "read", camera=camera, ocr=ocr_engine()) as r:
        r.press("press")
        assert r.daemon.controller.ctx.last_read_text == "\n".join(rows)
        shown = "西湖游船 West Lake boats\n票价 55元 Tickets 55 yuan\n出口 Exit B\n"
        hint = r.daemon.controller.ctx.hint(LLM_HINT)
        page = RendererLayout(renderer).page_view(f"{shown}(untranslated; {hint})")
        r.expect(renderer, Screen(page, status(Mode.READ, LlmSource.NONE)))


def test_assistant_answers_a_spoken_question_paged_by_button(
    sim: SimulatorProcess, renderer: Renderer, vad: Any, engine: Any
) -> None:
    question = "tell Li I'm ten minutes late"
    recognizer = ScriptedRecognizer((question, "en"))
    with rig(sim, vad, recognizer=recognizer, backend=LocalBackend(engine)) as r:
        r.press("long")  # push to talk: from captions straight to the assistant, listening
        assert r.daemon.controller.mode is Mode.ASSIST
        r.say(speech("Tell Li I am ten minutes late"))
        ctx = r.daemon.controller.ctx
        reply = greedy_reply(engine, prompts.assistant_messages(question, 320))
        answer = "To Li: " + shorten(ctx.screen_text(reply), ctx.options.answer_max_chars)
        page = RendererLayout(renderer).page_view(answer)
        r.expect(renderer, Screen(page, status(Mode.ASSIST)))
        if page.page_count > 1:
            r.press("press")
            r.expect(renderer, Screen(page.next_page(), status(Mode.ASSIST)))


class GatedBackend:
    """The tiny model's stream, held after its first delta until released or cancelled."""

    source = "local"

    def __init__(self, engine: Any) -> None:
        self.inner = LocalBackend(engine)
        self.release = threading.Event()
        self.tokens: list[CancelToken] = []

    def stream_chat(
        self, messages: Sequence[ChatMessage], options: Any = None, cancel: Any = None
    ) -> Iterator[str]:
        self.tokens.append(cancel)
        for i, delta in enumerate(self.inner.stream_chat(messages, options, cancel)):
            yield delta
            while i == 0 and not cancel.cancelled and not self.release.wait(0.005):
                pass  # a slow model: waiting between its first and second token


def test_a_new_utterance_preempts_the_stale_translation(
    sim: SimulatorProcess, renderer: Renderer, vad: Any, engine: Any
) -> None:
    backend = GatedBackend(engine)
    recognizer = ScriptedRecognizer(("第一句话。", "zh"), ("The second sentence.", "en"))
    # Whole-utterance translation (clause commits are never cancelled: test_translate_e2e.py).
    utterance = ["translate.commit=utterance"]
    with rig(sim, vad, "translate", utterance, recognizer=recognizer, backend=backend) as r:
        r.audio.push(speech("first sentence"))
        r.runner.wait_until(lambda d: bool(backend.tokens), WAIT_S, "the first generation")
        r.audio.push(speech("second sentence"))  # ends while the first is being translated
        r.runner.wait_until(lambda d: backend.tokens[0].cancelled, WAIT_S, "the cancellation")
        r.runner.wait_until(lambda d: len(backend.tokens) == 2, WAIT_S, "the second generation")
        backend.release.set()
        r.runner.wait_idle(WAIT_S)
        assert backend.tokens[0].cancelled and not backend.tokens[1].cancelled
        assert r.daemon.metrics.counters["llm.cancelled"] == 1
        first = greedy_reply(engine, prompts.translate_messages("第一句话。", "zh", "en"))
        second = greedy_reply(
            engine, prompts.translate_messages("The second sentence.", "en", "zh")
        )
        ctx = r.daemon.controller.ctx
        first_delta = ctx.screen_text(_first_delta(engine, "第一句话。"))
        assert first.startswith(_first_delta(engine, "第一句话。"))
        view = CaptionView((first_delta + "…", ctx.screen_text(second)))
        r.expect(renderer, Screen(view, status(Mode.TRANSLATE)))


def _first_delta(engine: Any, heard: str) -> str:
    options = GenerationOptions(MAX_TOKENS, SamplingConfig(greedy=True))
    stream = engine.stream(prompts.translate_messages(heard, "zh", "en"), options)
    try:
        return str(next(stream))
    finally:
        stream.close()


def test_a_link_fault_mid_answer_still_leaves_the_answer(
    sim: SimulatorProcess, renderer: Renderer, vad: Any, engine: Any
) -> None:
    backend = GatedBackend(engine)
    with rig(sim, vad, "assist", backend=backend) as r:
        r.runner.post(AskText("Where is the exit?"))
        r.runner.wait_until(lambda d: bool(backend.tokens), WAIT_S, "the answer to start")
        status_code, _ = r.sim.post("/api/unplug", {"duration_s": 0.5})
        assert status_code == 200
        r.runner.wait_until(lambda d: d.link.state.value == "lost", WAIT_S, "the link to drop")
        backend.release.set()  # the answer completes while the glasses are away
        r.runner.wait_until(lambda d: d.link.state.value == "connected", WAIT_S, "reconnect")
        r.runner.wait_idle(WAIT_S)
        ctx = r.daemon.controller.ctx
        reply = greedy_reply(engine, prompts.assistant_messages("Where is the exit?", 320))
        page = RendererLayout(renderer).page_view(shorten(ctx.screen_text(reply), 320))
        r.expect(renderer, Screen(page, status(Mode.ASSIST)))
        assert r.daemon.link.stats.reconnects >= 1


def test_status_file_is_written(sim: SimulatorProcess, vad: Any, tmp_path: Path) -> None:
    from glasses.runtime.status import format_status, read_status

    audio = PushAudioSource()
    settings = load_settings(overrides=[f"display.url={sim.url}", "log.status_interval_s=0.1"])
    daemon = Daemon(settings, Parts(audio=lambda: audio, vad=vad), status_path=tmp_path / "s.json")
    runner = DaemonThread(daemon).start(WAIT_S)
    try:
        runner.wait_until(lambda d: (tmp_path / "s.json").exists(), WAIT_S, "the status file")
    finally:
        runner.stop()
    status = read_status(tmp_path / "s.json")
    assert status["state"] == "stopped" and status["mode"] == "captions"
    assert status["channels"]["screen"]["overflow"] == "keep_newest"
    assert "not running" in format_status(status) and "peak rss" in format_status(status)


class Recording:
    """The real recogniser, with what it returned last kept for the expected screen."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last: Recognition | None = None

    def recognize(self, samples: Any, sample_rate_hz: int = 16_000) -> Recognition:
        self.last = self.inner.recognize(samples, sample_rate_hz)
        return self.last


def test_translate_with_the_real_sensevoice_code_on_a_tiny_model(
    sim: SimulatorProcess, renderer: Renderer, vad: Any, engine: Any, tmp_path: Path
) -> None:
    """sherpa-onnx's SenseVoice decoder, loaded from settings like ``glasses run`` does, on a
    random-weight model built to report Chinese: its language drives the translation."""
    pytest.importorskip("sherpa_onnx")
    from asr_support.tiny_sensevoice import build_tiny_sensevoice

    from glasses.runtime.parts import add_recognizer

    folder = build_tiny_sensevoice(tmp_path / "sensevoice", language="zh")
    built = Parts(audio=lambda: None)  # type: ignore[arg-type, return-value]
    add_recognizer(load_settings(overrides=[f"asr.model_dir={folder}"]), built)
    assert built.recognizer is not None, built.notes
    recognizer = Recording(built.recognizer)
    with rig(sim, vad, "translate", recognizer=recognizer, backend=LocalBackend(engine)) as r:
        r.say(speech("Next stop West Lake"))
        heard = recognizer.last
        assert heard is not None and heard.language == "zh" and heard.text
        messages = prompts.translate_messages(heard.text, "zh", "en")
        text = r.daemon.controller.ctx.screen_text(greedy_reply(engine, messages))
        r.expect(renderer, Screen(CaptionView((text,)), status(Mode.TRANSLATE)))


def test_reading_is_loaded_and_warmed_at_start_up(sim: SimulatorProcess, tmp_path: Path) -> None:
    """Issue 11: the first read, however late, cost +160 MB and a thread. With read mode on and
    a camera configured, `glasses run`'s parts load the OCR engine and read once at start-up;
    the status file and `glasses status` say so, and what it cost."""
    pytest.importorskip("rapidocr_onnxruntime")
    from PIL import Image

    from glasses.runtime.media import sign_image
    from glasses.runtime.parts import build_parts
    from glasses.runtime.status import format_status, read_status

    (tmp_path / "camera").mkdir()
    Image.fromarray(sign_image()[:, :, ::-1]).save(tmp_path / "camera" / "sign.png")
    common = [f"display.url={sim.url}", "audio.source=off", f"camera.source={tmp_path}/camera"]
    captions_only = build_parts(load_settings(overrides=[*common, "modes.enabled=captions"]))
    assert captions_only.ocr is not None and captions_only.loaded == {}  # nothing reads
    settings = load_settings(overrides=[*common, "log.status_interval_s=0.1"])
    daemon = Daemon(settings, build_parts(settings), status_path=tmp_path / "s.json")
    runner = DaemonThread(daemon).start(WAIT_S)
    try:
        runner.wait_until(lambda d: (tmp_path / "s.json").exists(), WAIT_S, "the status file")
    finally:
        runner.stop()
    status = read_status(tmp_path / "s.json")
    ocr = status["loaded"]["ocr"]
    assert ocr["load_s"] > 0 and ocr["first_read_s"] > 0 and ocr["first_read_rss_mb"] >= 0
    assert status["providers"]["ocr"] == "cpu" and status["process"]["threads"] > 1
    assert "loaded at start-up: ocr (" in format_status(status)
