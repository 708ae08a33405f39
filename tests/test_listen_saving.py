"""Saving power cuts partial transcripts down rather than off: the pure pacer (time as sample
counts) and the listen stage driving a real speech pipeline (segmenter, streaming transcriber)
whose VAD hears speech (or silence: never decoded) and whose recogniser counts its re-decodes."""

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
from glasses.pipeline.messages import AudioEnded, AudioIn, Message, PartialTranscript
from glasses.runtime.listen_stage import ListenStage, PartialPacer
from glasses.sources.audio import AudioChunk, FloatArray

pytestmark = pytest.mark.fast

RATE = 16_000
CHUNK = 1_600  # 0.1 s, as the microphone delivers it


def test_the_pacer_spaces_partials_by_audio_time() -> None:
    pacer = PartialPacer(1.0, RATE)
    assert pacer.allows(1_600)  # the first partial of a stream may come at once
    pacer.emitted(1_600)
    assert not pacer.allows(16_000) and pacer.allows(17_600)
    pacer.reset()  # a new stream counts from 0 again
    assert pacer.allows(800)
    assert not PartialPacer(0.0, RATE).allows(10**9)  # 0: none at all while saving


class Speech:
    """A VAD that hears speech in every 32 ms window (or, at a low ``probability``, none)."""

    def __init__(self, probability: float = 0.9) -> None:
        self.position = 0
        self.probability = probability

    def feed(self, samples: FloatArray) -> list[VadWindow]:
        out = []
        for start in range(0, len(samples) - 511, 512):
            out.append(VadWindow(self.position, samples[start : start + 512], self.probability))
            self.position += 512
        return out

    def reset(self, start_sample: int = 0) -> None:
        self.position = start_sample


class Counting:
    def __init__(self) -> None:
        self.decodes = 0

    def recognize(self, samples: FloatArray, sample_rate_hz: int = RATE) -> Recognition:
        self.decodes += 1
        return Recognition(f"words {len(samples)}", "en")


def partials_in_3_s(
    saving: bool, interval_s: float = 1.0, probability: float = 0.9
) -> tuple[int, int]:
    """(partial transcripts, re-decodes) over 3 s of speech (of silence at a low VAD
    ``probability``) fed in 0.1 s chunks."""
    recognizer = Counting()
    pipeline = SpeechPipeline(
        vad=Speech(probability),  # type: ignore[arg-type]  # duck-typed: feed and reset
        segmenter=Segmenter(),
        transcriber=StreamingTranscriber(recognizer),
    )
    sent: list[Message] = []

    async def send(msg: Message) -> None:
        sent.append(msg)

    async def main() -> None:
        inbox: Channel[AudioIn | AudioEnded] = Channel("audio", 64, Overflow.BLOCK)
        stage = ListenStage(inbox, send, pipeline, saving_partial_interval_s=interval_s)
        stage.saving = saving
        for i in range(30):
            chunk = AudioChunk(np.full(CHUNK, 0.1, dtype=np.float32), i * CHUNK)
            async for out in stage.process(AudioIn(chunk, 1)):
                sent.append(out)
        stage.worker.close()

    asyncio.run(main())
    return sum(isinstance(m, PartialTranscript) for m in sent), recognizer.decodes


def test_saving_re_decodes_once_a_second_instead_of_five_times() -> None:
    partials, decodes = partials_in_3_s(saving=False)
    assert partials == decodes >= 8  # every 0.2 s once the utterance is long enough
    assert partials_in_3_s(saving=True) == (3, 3)  # one in each second of audio
    assert partials_in_3_s(saving=True, interval_s=0.0) == (0, 0)


def test_silence_is_never_decoded() -> None:
    assert partials_in_3_s(saving=False, probability=0.01) == (0, 0)  # only while one speaks
