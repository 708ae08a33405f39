"""Utterance segmentation: the pure state machine on made-up windows, then on real speech."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perception_support.speech import noise, phrase, silence

from glasses.perception.segmenter import Segmenter, SegmenterConfig, SpeechEnded, SpeechStarted
from glasses.perception.vad import VadWindow

pytestmark = pytest.mark.fast

W = 512
# In windows of 512 samples: pre-roll 2, post-roll 1, min speech 3, min silence 4, max 32.
CONFIG = SegmenterConfig(
    pre_roll_s=2 * W / 16_000,
    post_roll_s=W / 16_000,
    min_speech_s=3 * W / 16_000,
    min_silence_s=4 * W / 16_000,
    max_utterance_s=32 * W / 16_000,
)


def windows(probabilities: list[float], first: int = 0) -> list[VadWindow]:
    """Window k holds the value k in every sample, so segments show which windows they hold."""
    return [
        VadWindow((first + k) * W, np.full(W, first + k, dtype=np.float32), p)
        for k, p in enumerate(probabilities)
    ]


def run(probabilities: list[float], config: SegmenterConfig = CONFIG) -> list[object]:
    segmenter = Segmenter(config)
    events: list[object] = []
    for window in windows(probabilities):
        events += segmenter.push(window)
    return events + segmenter.flush()


def window_ids(ended: SpeechEnded) -> list[int]:
    return sorted({int(v) for v in ended.samples})


def test_an_utterance_gets_pre_roll_post_roll_and_ends_after_min_silence() -> None:
    events = run([0.0] * 5 + [0.9] * 6 + [0.0] * 6)
    started, ended = events
    assert started == SpeechStarted(start_sample=3 * W, detected_sample=8 * W)
    assert isinstance(ended, SpeechEnded) and ended.reason == "silence"
    assert (ended.start_sample, ended.end_sample) == (3 * W, 12 * W)
    assert window_ids(ended) == list(range(3, 12))  # 2 windows before, 1 after the voice
    assert len(ended.samples) == ended.end_sample - ended.start_sample


def test_a_blip_shorter_than_min_speech_is_dropped() -> None:
    assert run([0.0] * 3 + [0.9, 0.9] + [0.0] * 8) == []


def test_a_pause_shorter_than_min_silence_does_not_split() -> None:
    events = run([0.9] * 5 + [0.1] * 3 + [0.9] * 5 + [0.0] * 5)
    assert [type(e).__name__ for e in events] == ["SpeechStarted", "SpeechEnded"]


def test_hysteresis_between_the_thresholds_keeps_speech_going() -> None:
    # 0.4 is below the start threshold (0.5) but above the end one (0.35).
    events = run([0.9] * 4 + [0.4] * 8 + [0.0] * 6)
    ended = events[1]
    assert isinstance(ended, SpeechEnded)
    assert ended.end_sample == 13 * W  # the 0.4 windows count as speech, plus post-roll


def test_long_speech_is_split_at_max_length_and_continues() -> None:
    events = run([0.9] * 40 + [0.0] * 6)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["SpeechStarted", "SpeechEnded", "SpeechStarted", "SpeechEnded"]
    first, second = events[1], events[3]
    assert isinstance(first, SpeechEnded) and isinstance(second, SpeechEnded)
    assert first.reason == "max_length" and second.reason == "silence"
    assert first.end_sample == second.start_sample == 32 * W  # contiguous, nothing lost
    assert len(first.samples) == 32 * W


def test_split_prefers_the_latest_pause_in_the_second_half() -> None:
    events = run([0.9] * 20 + [0.1, 0.1] + [0.9] * 20 + [0.0] * 6)
    first = events[1]
    assert isinstance(first, SpeechEnded) and first.reason == "max_length"
    assert first.end_sample == 21 * W  # start of the last paused window


def test_lost_audio_closes_the_open_utterance() -> None:
    segmenter = Segmenter(CONFIG)
    events = [e for w in windows([0.9] * 6) for e in segmenter.push(w)]
    events += segmenter.push(windows([0.9], first=20)[0])  # 14 windows went missing
    assert isinstance(events[-1], SpeechEnded) and events[-1].reason == "gap"
    assert events[-1].end_sample == 6 * W
    with pytest.raises(ValueError):
        segmenter.push(windows([0.9], first=3)[0])


def test_open_segment_is_visible_only_once_confirmed() -> None:
    segmenter = Segmenter(CONFIG)
    ws = windows([0.9] * 5)
    segmenter.push(ws[0])
    assert segmenter.open_segment() is None
    for w in ws[1:]:
        segmenter.push(w)
    start, samples = segmenter.open_segment() or (None, None)
    assert start == 0 and samples is not None and len(samples) == 5 * W
    assert not samples.flags.writeable  # a view of the segmenter's buffer, not to be changed


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=150))
def test_events_are_well_formed_for_any_probabilities(probabilities: list[float]) -> None:
    segmenter = Segmenter(CONFIG)
    buffer_size = segmenter._buffer.size
    events = [e for w in windows(probabilities) for e in segmenter.push(w)] + segmenter.flush()
    assert segmenter._buffer.size == buffer_size  # never grows
    open_start = None
    last_end = 0
    for event in events:
        if isinstance(event, SpeechStarted):
            assert open_start is None
            open_start = event.start_sample
        else:
            assert isinstance(event, SpeechEnded)
            assert open_start == event.start_sample >= last_end
            assert 0 < event.end_sample - event.start_sample <= 32 * W
            assert len(event.samples) == event.end_sample - event.start_sample
            last_end, open_start = event.end_sample, None
    assert open_start is None


# -- through the real Silero VAD ---------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline_segments():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("soundfile")
    from glasses.errors import GlassesError
    from glasses.perception.speech import SpeechPipeline
    from glasses.sources.audio import AudioChunk

    try:
        pipeline = SpeechPipeline()
    except GlassesError as exc:
        pytest.skip(str(exc))

    def segments(audio: np.ndarray) -> list[SpeechEnded]:
        pipeline.reset()
        chunks = [AudioChunk(audio[i : i + 1600], i) for i in range(0, len(audio), 1600)]
        return [e for e in pipeline.run(chunks) if isinstance(e, SpeechEnded)]

    return segments


@pytest.mark.model
def test_two_phrases_one_second_apart_are_two_segments(pipeline_segments) -> None:
    a, b = phrase("Turn left at the next corner"), phrase("The museum opens at nine")
    audio = np.concatenate([silence(0.7), a, silence(1.0), b, silence(1.0)])
    truth = [
        (0.7, 0.7 + len(a) / 16_000),
        (1.7 + len(a) / 16_000, 1.7 + (len(a) + len(b)) / 16_000),
    ]
    found = pipeline_segments(audio)
    assert len(found) == 2
    for seg, (start, end) in zip(found, truth, strict=True):
        # Starts include up to 0.3 s of pre-roll; ends up to 0.15 s of post-roll.
        assert start - 0.45 <= seg.start_s <= start + 0.1, (seg.start_s, start)
        assert end - 0.2 <= seg.end_s <= end + 0.3, (seg.end_s, end)
        assert seg.reason == "silence"


@pytest.mark.model
def test_short_pauses_within_a_sentence_keep_one_segment(pipeline_segments) -> None:
    words = [phrase(w) for w in ("one", "two", "three")]
    gap = silence(0.2)
    audio = np.concatenate([silence(0.5), words[0], gap, words[1], gap, words[2], silence(1.0)])
    assert len(pipeline_segments(audio)) == 1


@pytest.mark.model
@pytest.mark.parametrize("kind", ["silence", "noise", "hum"])
def test_no_speech_gives_no_segments(pipeline_segments, kind: str) -> None:
    t = np.arange(4 * 16_000) / 16_000
    audio = {
        "silence": silence(4.0),
        "noise": noise(4.0, level=0.05),
        "hum": (0.2 * np.sin(2 * np.pi * 50 * t)).astype(np.float32),
    }[kind]
    assert pipeline_segments(audio) == []


def test_pause_s_is_the_silence_at_the_end_of_the_open_utterance() -> None:
    # Translate mode takes a pause inside an utterance as the end of a clause (issue #14).
    segmenter = Segmenter(CONFIG)
    pauses = []
    for window in windows([0.0] * 2 + [0.9] * 4 + [0.0] * 3 + [0.9] * 2 + [0.0] * 6):
        segmenter.push(window)
        pauses.append(round(segmenter.pause_s * 16_000 / W, 6))
    # Silence before speech and after the utterance ended is no pause; inside it, it grows
    # window by window and is gone when the voice comes back.
    assert pauses == [0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 1, 2, 3, 0, 0, 0]
