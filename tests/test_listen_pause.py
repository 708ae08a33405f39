"""The listen stage tells translate mode about a pause inside an utterance (issue #14): each
partial transcript carries how long the VAD has heard no speech at the utterance's end, which
clause translation takes as the end of a clause. A real speech pipeline (segmenter, streaming
transcriber) behind a VAD that is told where the pause is."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from glasses.perception.asr.recognition import Recognition
from glasses.perception.segmenter import Segmenter
from glasses.perception.speech import SpeechPipeline
from glasses.perception.transcriber import StreamingTranscriber
from glasses.perception.vad import VadWindow
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import AudioEnded, AudioIn, PartialTranscript
from glasses.runtime.listen_stage import ListenStage
from glasses.sources.audio import AudioChunk, FloatArray

pytestmark = pytest.mark.fast

RATE, CHUNK, WINDOW = 16_000, 1_600, 512
PAUSE = (1.5, 1.9)  # seconds of silence inside the utterance: shorter than the 0.5 s endpoint


class PausingVad:
    """Speech in every 32 ms window, except those that start inside ``PAUSE``."""

    def __init__(self) -> None:
        self.position = 0

    def feed(self, samples: FloatArray) -> list[VadWindow]:
        out = []
        for start in range(0, len(samples) - WINDOW + 1, WINDOW):
            silent = PAUSE[0] * RATE <= self.position < PAUSE[1] * RATE
            out.append(
                VadWindow(self.position, samples[start : start + WINDOW], 0.0 if silent else 0.9)
            )
            self.position += WINDOW
        return out

    def reset(self, start_sample: int = 0) -> None:
        self.position = start_sample


class Words:
    def recognize(self, samples: FloatArray, sample_rate_hz: int = RATE) -> Recognition:
        return Recognition("next stop west lake", "en")


def partial_pauses() -> list[tuple[float, float]]:
    """(end of the audio heard, pause_s) of each partial over 3 s fed in 0.1 s chunks."""
    pipeline = SpeechPipeline(
        vad=PausingVad(),  # type: ignore[arg-type]  # duck-typed: feed and reset
        segmenter=Segmenter(),
        transcriber=StreamingTranscriber(Words()),
    )
    out: list[tuple[float, float]] = []

    async def send(msg: object) -> None:
        raise AssertionError(f"sent outside process: {msg}")

    async def main() -> None:
        inbox: Channel[AudioIn | AudioEnded] = Channel("audio", 64, Overflow.BLOCK)
        stage = ListenStage(inbox, send, pipeline)
        for i in range(30):
            chunk = AudioChunk(np.full(CHUNK, 0.1, dtype=np.float32), i * CHUNK)
            async for msg in stage.process(AudioIn(chunk, 1)):
                if isinstance(msg, PartialTranscript):
                    out.append((chunk.end_sample / RATE, msg.pause_s))
        stage.worker.close()

    asyncio.run(main())
    return out


def test_a_partial_during_a_pause_inside_the_utterance_says_how_long_it_is() -> None:
    pauses = partial_pauses()
    inside = [pause_s for end_s, pause_s in pauses if PAUSE[0] + 0.2 <= end_s <= PAUSE[1]]
    assert inside and all(0.2 <= p <= PAUSE[1] - PAUSE[0] + 0.05 for p in inside), pauses
    # Speaking: no pause (and the utterance goes on after it: one utterance, not two).
    assert all(p == 0.0 for end_s, p in pauses if end_s <= PAUSE[0] or end_s >= PAUSE[1] + 0.2)
    assert any(end_s > PAUSE[1] + 0.2 for end_s, _ in pauses)
