"""Streaming recognisers: the online transcriber's bookkeeping, language from script, case."""

from __future__ import annotations

import numpy as np
import pytest

from glasses.perception.asr import Recognition, StreamingRecognizer, language_of
from glasses.perception.asr.transducer import tidy_case
from glasses.perception.segmenter import SpeechEnded
from glasses.perception.transcriber import (
    OnlineTranscriber,
    StreamingTranscriber,
    TranscriberConfig,
    transcriber_for,
)

pytestmark = pytest.mark.fast

RATE = 16_000


class RecordingStream:
    """Writes down every sample it hears; its "text" is one word per 0.25 s heard."""

    def __init__(self, owner: CountingRecognizer) -> None:
        self.owner = owner
        self.heard: list[np.ndarray] = []
        self.finished = False

    def _text(self) -> Recognition:
        n = sum(len(h) for h in self.heard)
        return Recognition(" ".join(f"w{i}" for i in range(n // 4000)), "en")

    def accept(self, samples: np.ndarray) -> Recognition:
        assert not self.finished
        self.heard.append(np.array(samples))
        return self._text()

    def finish(self) -> Recognition:
        self.finished = True
        return self._text()


class CountingRecognizer:
    def __init__(self) -> None:
        self.streams: list[RecordingStream] = []

    def open_stream(self, sample_rate_hz: int = RATE) -> RecordingStream:
        self.streams.append(RecordingStream(self))
        return self.streams[-1]

    def recognize(self, samples: np.ndarray, sample_rate_hz: int = RATE) -> Recognition:
        raise AssertionError("an online transcriber never re-decodes")


def heard(stream: RecordingStream) -> np.ndarray:
    return np.concatenate(stream.heard) if stream.heard else np.zeros(0)


def test_each_sample_is_heard_once_and_partials_come_every_interval() -> None:
    recognizer = CountingRecognizer()
    transcriber = OnlineTranscriber(recognizer, TranscriberConfig(stable_window=2))
    audio = np.arange(40_000, dtype=np.float32)  # sample values = their positions
    partials = []
    for end in range(1600, 32_001, 1600):
        partial = transcriber.partial(1000, audio[:end])
        if partial is not None:
            partials.append(partial)
    assert len(recognizer.streams) == 1
    np.testing.assert_array_equal(heard(recognizer.streams[0]), audio[:32_000])
    assert [p.end_sample - 1000 for p in partials] == list(range(3200, 32_001, 3200))
    assert partials[-1].text == "w0 w1 w2 w3 w4 w5 w6 w7"
    assert partials[-1].stable == "w0 w1 w2 w3 w4 w5 w6"  # what the two latest agree on
    final = transcriber.final(SpeechEnded(1000, 1000 + 36_000, audio[:36_000], "silence"))
    np.testing.assert_array_equal(heard(recognizer.streams[0]), audio[:36_000])
    assert recognizer.streams[0].finished and final.is_final and final.text == final.stable
    assert final.text.split()[-1] == "w8" and (final.start_sample, final.end_sample) == (
        1000,
        37_000,
    )


def test_a_segment_split_for_length_is_not_heard_twice() -> None:
    recognizer = CountingRecognizer()
    transcriber = OnlineTranscriber(recognizer)
    audio = np.arange(60_000, dtype=np.float32)
    transcriber.partial(0, audio[:48_000])  # the stream heard up to 48 000
    # The segmenter split at a pause at 40 000: the first part ends there ...
    transcriber.final(SpeechEnded(0, 40_000, audio[:40_000], "max_length"))
    # ... and the next segment starts at the pause, with audio the first stream already heard.
    transcriber.partial(40_000, audio[40_000:56_000])
    first, second = recognizer.streams
    np.testing.assert_array_equal(heard(first), audio[:48_000])
    np.testing.assert_array_equal(heard(second), audio[48_000:56_000])


def test_without_partials_the_final_hears_the_whole_segment() -> None:
    recognizer = CountingRecognizer()
    transcriber = OnlineTranscriber(recognizer)
    audio = np.ones(20_000, dtype=np.float32)
    final = transcriber.final(SpeechEnded(500, 20_500, audio, "end_of_stream"))
    assert final.text == "w0 w1 w2 w3 w4" and len(heard(recognizer.streams[0])) == 20_000


def test_reset_starts_counting_samples_again() -> None:
    recognizer = CountingRecognizer()
    transcriber = OnlineTranscriber(recognizer)
    audio = np.ones(20_000, dtype=np.float32)
    transcriber.partial(50_000, audio)
    transcriber.reset()  # a new audio stream: positions start at 0 again
    transcriber.partial(0, audio[:8000])
    assert len(heard(recognizer.streams[-1])) == 8000


def test_the_transcriber_follows_the_kind_of_recogniser() -> None:
    class Offline:
        def recognize(self, samples: np.ndarray, sample_rate_hz: int = RATE) -> Recognition:
            return Recognition("", "")

    assert isinstance(CountingRecognizer(), StreamingRecognizer)
    assert isinstance(transcriber_for(CountingRecognizer()), OnlineTranscriber)
    assert isinstance(transcriber_for(Offline()), StreamingTranscriber)


@pytest.mark.parametrize(
    ("text", "languages", "fallback", "expected"),
    [
        ("下一站西湖", ("zh", "en"), "", "zh"),
        ("next stop west lake", ("zh", "en"), "", "en"),
        ("我要去 West Lake", ("zh", "en"), "", "zh"),  # 3 Han vs 8 letters (2 words' worth)
        ("OK 好", ("zh", "en"), "", "zh"),
        ("please turn left 好", ("zh", "en"), "", "en"),
        ("ありがとう東京", ("zh", "en", "ja"), "", "ja"),  # kana makes Han Japanese
        ("안녕하세요", ("zh", "en", "ko"), "", "ko"),
        ("西湖", ("yue", "en"), "", "yue"),
        ("", ("zh", "en"), "en", "en"),
        ("123 !?", ("zh", "en"), "", ""),
        ("안녕", ("zh", "en"), "zh", "zh"),  # a script the model's languages do not have
    ],
)
def test_language_from_script(
    text: str, languages: tuple[str, ...], fallback: str, expected: str
) -> None:
    assert language_of(text, languages, fallback) == expected


@pytest.mark.parametrize(
    ("raw", "tidy"),
    [
        ("HELLO WORLD", "Hello world"),
        ("I THINK SO", "I think so"),
        ("你好 HELLO", "你好 hello"),
        ("Hello World", "Hello World"),  # the model's own case is kept
        ("你好世界", "你好世界"),
        ("", ""),
    ],
)
def test_capitals_become_sentence_case(raw: str, tidy: str) -> None:
    assert tidy_case(raw) == tidy
