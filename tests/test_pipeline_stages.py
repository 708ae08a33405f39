"""Each stage alone, on a real event loop with stand-in devices and models.

The recogniser here is scripted: no SenseVoice model can exist in CI, so it stands in at unit
level only; the VAD in front of it is the real Silero model on real (synthesised) speech.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import pytest
from runtime_support import Outbox

from firmware_bridge.protocol.geometry import DisplayGeometry
from firmware_bridge.stats import LinkState
from glasses.display.raster import Renderer
from glasses.display.views import Screen, TextView
from glasses.errors import GlassesError
from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.llm.router import ANSWER_RESET
from glasses.perception.asr import Recognition
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import (
    AudioEnded,
    AudioIn,
    CameraFrame,
    CaptureRequest,
    FinalTranscript,
    LlmDelta,
    LlmDone,
    LlmRequest,
    OcrText,
    PeripheralState,
    ScreenUpdate,
    SpeechActivity,
)
from glasses.pipeline.metrics import Metrics
from glasses.runtime.display_stage import DisplayStage, RendererLayout
from glasses.runtime.feeds import LoopingImageReader, PushAudioSource
from glasses.runtime.generate_stage import GenerateStage
from glasses.runtime.peripherals import run_microphone
from glasses.runtime.vision_stages import CaptureStage
from glasses.sources.audio import AudioChunk, SourceStats
from glasses.sources.camera import ThreadedCamera

pytestmark = pytest.mark.fast

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30.0))


# -- generation ---------------------------------------------------------------------------


class GatedBackend:
    """Yields one delta, then holds until cancelled or released (as a slow model would)."""

    source = "local"

    def __init__(self) -> None:
        self.tokens: list[CancelToken] = []
        self.release = threading.Event()

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        assert cancel is not None
        self.tokens.append(cancel)
        if cancel.cancelled:
            return
        yield "first "
        while not cancel.cancelled and not self.release.wait(0.005):  # one "token" per poll
            pass
        if not cancel.cancelled:
            yield "rest"


def request(request_id: int) -> LlmRequest:
    return LlmRequest(request_id, (ChatMessage("user", "hi"),), 16)


def llm_stage(backend: Any, out: Outbox) -> tuple[GenerateStage, Channel[LlmRequest]]:
    inbox: Channel[LlmRequest] = Channel("llm", 1, Overflow.KEEP_NEWEST)
    return GenerateStage(inbox, out.send, backend, GenerationOptions(), metrics=Metrics()), inbox


def test_cancel_preempts_the_running_generation() -> None:
    backend, out = GatedBackend(), Outbox()

    async def main() -> None:
        stage, inbox = llm_stage(backend, out)
        task = asyncio.ensure_future(stage.run())
        await inbox.put(request(1))
        await out.until(lambda sent: any(isinstance(m, LlmDelta) for m in sent))
        stage.cancel(1)  # a newer utterance made it stale
        await inbox.put(request(2))
        await out.until(lambda sent: any(isinstance(m, LlmDone) for m in sent))
        backend.release.set()
        await out.until(lambda sent: len([m for m in sent if isinstance(m, LlmDone)]) == 2)
        task.cancel()

    run(main())
    first, second = out.of(LlmDone)
    assert first == LlmDone(1, "first ", cancelled=True, source="local", at_s=first.at_s)
    assert backend.tokens[0].cancelled  # the model saw the cancellation
    assert (second.request_id, second.text, second.cancelled) == (2, "first rest", False)


def test_a_request_cancelled_while_queued_never_runs_the_model() -> None:
    backend, out = GatedBackend(), Outbox()

    async def main() -> None:
        stage, inbox = llm_stage(backend, out)
        stage.cancel(7)
        task = asyncio.ensure_future(stage.run())
        await inbox.put(request(7))
        await out.until(lambda sent: bool(sent))
        task.cancel()

    run(main())
    assert out.of(LlmDone)[0].cancelled and out.of(LlmDelta) == []
    assert backend.tokens[0].cancelled


def test_cancel_running_stops_whatever_runs_and_nothing_when_idle() -> None:
    """What the daemon calls at shutdown: no request id needed, and harmless when idle."""
    backend, out = GatedBackend(), Outbox()

    async def main() -> None:
        stage, inbox = llm_stage(backend, out)
        stage.cancel_running()  # nothing runs yet: a later request is not affected
        task = asyncio.ensure_future(stage.run())
        await inbox.put(request(3))
        await out.until(lambda sent: any(isinstance(m, LlmDelta) for m in sent))
        stage.cancel_running()
        await out.until(lambda sent: any(isinstance(m, LlmDone) for m in sent))
        task.cancel()

    run(main())
    (done,) = out.of(LlmDone)
    assert (done.request_id, done.text, done.cancelled) == (3, "first ", True)
    assert backend.tokens[0].cancelled and not backend.release.is_set()


class ScriptedBackend:
    source = "remote"

    def __init__(self, items: Sequence[str | Exception]) -> None:
        self.items = items

    def stream_chat(self, messages: Any, options: Any = None, cancel: Any = None) -> Iterator[str]:
        for item in self.items:
            if isinstance(item, Exception):
                raise item
            yield item


def test_errors_and_answer_resets_end_the_request_visibly() -> None:
    out = Outbox()

    async def main() -> None:
        backend = ScriptedBackend(["partial", GlassesError("remote went away")])
        stage, inbox = llm_stage(backend, out)
        task = asyncio.ensure_future(stage.run())
        await inbox.put(request(1))
        await out.until(lambda sent: any(isinstance(m, LlmDone) for m in sent))
        stage.backend = ScriptedBackend(["remote text", ANSWER_RESET, "local ", "text"])
        await inbox.put(request(2))
        await out.until(lambda sent: len([m for m in sent if isinstance(m, LlmDone)]) == 2)
        task.cancel()

    run(main())
    failed, reset = out.of(LlmDone)
    assert (failed.text, failed.error, failed.cancelled) == ("partial", "remote went away", False)
    assert reset.text == "local text" and reset.source == "remote"
    assert [d.reset for d in out.of(LlmDelta) if d.request_id == 2] == [False, True, False, False]


# -- listening ------------------------------------------------------------------------------


class ScriptedRecognizer:
    """Unit-level stand-in for SenseVoice (no model can exist here): scripted text in order."""

    def __init__(self, *heard: tuple[str, str]) -> None:
        self.heard = deque(heard)

    def recognize(self, samples: Any, sample_rate_hz: int = 16_000) -> Recognition:
        return Recognition(*self.heard.popleft()) if self.heard else Recognition("", "")


@pytest.mark.process
def test_listen_stage_turns_real_speech_into_transcripts() -> None:
    from perception_support.speech import phrase, silence

    from glasses.perception.speech import SpeechPipeline
    from glasses.perception.transcriber import StreamingTranscriber
    from glasses.runtime.listen_stage import ListenStage

    speech = np.concatenate([silence(0.3), phrase("Next stop West Lake"), silence(1.0)])
    out = Outbox()

    async def main() -> None:
        asr = StreamingTranscriber(ScriptedRecognizer(("Next stop: West Lake.", "en")))
        inbox: Channel[AudioIn | AudioEnded] = Channel("audio", 64, Overflow.BLOCK)
        stage = ListenStage(inbox, out.send, SpeechPipeline(transcriber=asr), partials=False)
        task = asyncio.ensure_future(stage.run())
        for start in range(0, len(speech), 1600):
            chunk = AudioChunk(speech[start : start + 1600], start)
            await inbox.put(AudioIn(chunk, stream=1))
        await out.until(lambda sent: any(isinstance(m, FinalTranscript) for m in sent))
        # A new stream (the device was reopened) starts from sample 0 again: no error.
        await inbox.put(AudioIn(AudioChunk(speech[:16000], 0), stream=2))
        await inbox.put(AudioEnded(stream=2))
        await out.poll(lambda: stage.idle and stage.heard_samples == 16000)
        task.cancel()

    run(main())
    activity = out.of(SpeechActivity)
    assert [a.speaking for a in activity[:2]] == [True, False]
    final, flushed = out.of(FinalTranscript)  # the second: stream 2's speech, at its end
    assert (final.text, final.language) == ("Next stop: West Lake.", "en")
    assert flushed.text == "" and flushed.duration_s <= 1.0
    assert 0.8 < final.duration_s < 3.0 and final.speech_end_at_s <= final.at_s


class FlakySource:
    """Fails to open once, then delivers two chunks and dies like an unplugged microphone."""

    def __init__(self, opened: list[int]) -> None:
        opened.append(1)
        if len(opened) == 1:
            raise GlassesError("no such device")
        self.dies = len(opened) == 2

    sample_rate_hz = 16_000

    def chunks(self) -> Iterator[AudioChunk]:
        for i in range(2):
            yield AudioChunk(np.zeros(160, dtype=np.float32), 160 * i)
        if self.dies:
            raise GlassesError("microphone stopped delivering audio (unplugged?)")

    def stats(self) -> SourceStats:
        return SourceStats()

    def close(self) -> None:
        pass


def test_microphone_task_reconnects_and_ends_cleanly() -> None:
    out, opened = Outbox(), []

    async def main() -> None:
        await run_microphone(lambda: FlakySource(opened), out.send, backoff_min_s=0.001)

    run(main())
    kinds = [
        (type(m).__name__, getattr(m, "up", getattr(m, "stream", None)))
        for m in out.sent
        if not isinstance(m, AudioIn)
    ]
    assert kinds == [
        ("PeripheralState", False),  # did not open
        ("PeripheralState", True),
        ("AudioEnded", 1),  # lost: the stream ends, with its error...
        ("PeripheralState", False),  # ...and the device is reported away
        ("PeripheralState", True),  # reopened
        ("AudioEnded", 2),  # the stream played out: the task ends, no error
    ]
    ended = out.of(AudioEnded)
    assert "unplugged" in ended[0].error and ended[1].error == ""
    assert [m.stream for m in out.of(AudioIn)] == [1, 1, 2, 2]


def test_push_audio_source_hands_out_what_was_pushed() -> None:
    source = PushAudioSource()
    source.push(np.ones(4000, dtype=np.float32))
    chunks = source.chunks()
    got = [next(chunks) for _ in range(3)]
    assert [(c.start_sample, len(c.samples)) for c in got] == [(0, 1600), (1600, 1600), (3200, 800)]
    assert source.pending_samples() == 0 and source.delivered_samples == 4000
    source.close()
    assert list(chunks) == []


def test_push_audio_source_switches_to_real_time_with_silence() -> None:
    now = [100.0]
    source = PushAudioSource(clock=lambda: now[0])
    chunks = source.chunks()
    waiting = threading.Thread(target=lambda: got.append(next(chunks)))
    got: list[AudioChunk] = []
    waiting.start()  # blocks: nothing pushed, not real time
    source.realtime = True  # a microphone in a quiet room from now on: silence, paced
    now[0] += 0.1  # the first chunk is due once its 0.1 s have passed (the fake clock says so)
    waiting.join(5)
    assert not waiting.is_alive() and len(got[0].samples) == 1600
    assert not got[0].samples.any()
    source.close()


# -- reading and showing ----------------------------------------------------------------------


def test_capture_reports_a_missing_camera_and_reopens_it() -> None:
    image = np.full((120, 160, 3), 255, dtype=np.uint8)
    image[40:80, 20:140] = 0  # something sharp to choose
    attempts: list[int] = []

    def open_camera() -> ThreadedCamera:
        attempts.append(1)
        if len(attempts) == 1:
            raise GlassesError("no camera 0")
        return ThreadedCamera(LoopingImageReader(image, fps=200.0))

    out = Outbox()

    async def main() -> None:
        inbox: Channel[CaptureRequest] = Channel("capture", 1, Overflow.KEEP_NEWEST)
        stage = CaptureStage(inbox, out.send, open_camera, still_timeout_s=5.0, idle_close_s=0)
        task = asyncio.ensure_future(stage.run())
        await inbox.put(CaptureRequest(1))
        await out.until(lambda sent: any(isinstance(m, OcrText) for m in sent))
        await inbox.put(CaptureRequest(2))
        await out.until(lambda sent: any(isinstance(m, CameraFrame) for m in sent))
        await out.poll(lambda: stage.idle and stage.camera is None)  # closed when idle
        task.cancel()

    run(main())
    assert out.of(OcrText) == [OcrText(1, "", error="no camera 0", at_s=out.of(OcrText)[0].at_s)]
    assert [(p.up, p.detail) for p in out.of(PeripheralState)] == [
        (False, "no camera 0"),
        (True, ""),
    ]
    (frame,) = out.of(CameraFrame)
    assert frame.request_id == 2 and frame.chosen and frame.frame.image.shape == image.shape


class FakeLink:
    state = LinkState.CONNECTED

    def __init__(self) -> None:
        self.shown: list[np.ndarray] = []
        self.acks = 1  # how many wait_presented calls fail first

    def show(self, levels: Any) -> None:
        self.shown.append(levels)

    def wait_presented(self, timeout_s: float) -> bool:
        self.acks -= 1
        return self.acks < 0


@pytest.mark.process
def test_display_stage_renders_waits_for_the_device_and_measures() -> None:
    renderer = Renderer(DisplayGeometry(128, 64, 1))
    link, out, metrics = FakeLink(), Outbox(), Metrics()
    screen = Screen(TextView("hello 🎶 你好"))
    clean = RendererLayout(renderer).clean("hello 🎶 你好")

    async def main() -> None:
        inbox: Channel[ScreenUpdate] = Channel("screen", 1, Overflow.KEEP_NEWEST)
        stage = DisplayStage(inbox, out.send, link, renderer, metrics=metrics)
        task = asyncio.ensure_future(stage.run())
        await inbox.put(ScreenUpdate(Screen(TextView(clean)), "FinalTranscript", 0.0))
        await out.poll(lambda: stage.presented is not None)
        task.cancel()

    run(main())
    assert "🎶" not in clean and "你好" in clean and screen.body != Screen(TextView(clean)).body
    assert np.array_equal(link.shown[0], renderer.render(Screen(TextView(clean))))
    assert metrics.counters["display.slow_present"] == 1  # the first wait timed out
    assert metrics.histograms["e2e.FinalTranscript_to_present"].count == 1


def test_looping_reader_closes_promptly() -> None:
    reader = LoopingImageReader(np.zeros((2, 2, 3), dtype=np.uint8), fps=0.01)
    threading.Timer(0.0, reader.close).start()
    assert reader.read() is None  # close() interrupts the wait for the next frame


class UnpluggedLink(FakeLink):
    """Down for the first ``down`` waits; each wait moves the fake clock by ``step_s``."""

    def __init__(self, clock: list[float], down: int, step_s: float) -> None:
        super().__init__()
        self.clock, self.down, self.step_s = clock, down, step_s
        self.acks = down + 1
        self.state = LinkState.LOST

    def wait_presented(self, timeout_s: float) -> bool:
        self.clock[0] += self.step_s
        self.down -= 1
        if self.down < 0:
            self.state = LinkState.CONNECTED
        return super().wait_presented(timeout_s)


@pytest.mark.process
def test_display_stage_counts_an_unplug_as_link_wait_not_its_own_time() -> None:
    now = [100.0]
    link, out, metrics = UnpluggedLink(now, down=13, step_s=0.5), Outbox(), Metrics()

    async def main() -> None:
        inbox: Channel[ScreenUpdate] = Channel("screen", 1, Overflow.KEEP_NEWEST)
        stage = DisplayStage(
            inbox,
            out.send,
            link,
            Renderer(DisplayGeometry(128, 64, 1)),
            metrics=metrics,
            clock=lambda: now[0],
        )
        task = asyncio.ensure_future(stage.run())
        await inbox.put(ScreenUpdate(Screen(TextView("hi")), "OcrText", 99.9))
        await out.poll(lambda: stage.presented is not None and stage.idle)
        task.cancel()

    run(main())
    h = metrics.histograms
    # 13 half-second waits with the link down, then 2 with it up (resend, acknowledgement).
    assert h["display.link_wait"].max_ms == 6500.0
    assert h["display.present"].max_ms == 1000.0 and h["stage.display"].max_ms == 1000.0
    assert h["e2e.OcrText_to_present"].max_ms == pytest.approx(1100.0)  # not 7600
