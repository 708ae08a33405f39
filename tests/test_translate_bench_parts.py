"""The parts of scripts/bench_translate.py that decide its lag figures, as pure logic with time
as data: the scripted recogniser writes the words of the segment it is given (from that
segment's own first word, whole words only), a Mandarin word of the stand-in's table is never
split, and a word whose translation never settles is counted instead of given a time."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "scripts") not in sys.path:  # the bench's parts live beside the script
    sys.path.insert(0, str(ROOT / "scripts"))

from translate_bench.metrics import lags  # noqa: E402
from translate_bench.report import goals  # noqa: E402
from translate_bench.simulate import Run, ScriptedRecognizer, SegmentTranscriber  # noqa: E402
from translate_bench.speech import RATE, Speech, words  # noqa: E402

from glasses.perception.asr import Recognition  # noqa: E402
from glasses.perception.segmenter import SpeechEnded  # noqa: E402

pytestmark = pytest.mark.fast

TEXT = "Good morning everyone, welcome to the lake,"
# (character end, sample end): two clauses, 0.5 s to 1.0 s and 1.875 s to 2.375 s
ENDS = [(4, 8000), (12, 12000), (22, 16000), (30, 30000), (33, 33000), (37, 35000), (43, 38000)]


def speech() -> Speech:
    return Speech(np.zeros(48_000, dtype=np.float32), TEXT, "en", ENDS)


class Timing:
    """Where the bench decodes with the tiny SenseVoice for its time; its text is not used."""

    def __init__(self) -> None:
        self.heard: list[int] = []

    def recognize(self, samples: np.ndarray, sample_rate_hz: int = RATE) -> Recognition:
        self.heard.append(len(samples))
        return Recognition("noise", "en")


def test_heard_is_the_words_ending_inside_the_range_whole() -> None:
    s = speech()
    assert s.heard(0, 16_000) == "Good morning everyone,"
    assert s.heard(0, 11_999) == "Good"  # "morning" is not over: no half word
    assert s.heard(20_000, 48_000) == "welcome to the lake,"  # from the segment's first word
    assert s.heard(20_000, 31_000) == "welcome"
    assert s.heard(16_000, 29_999) == ""


def test_segments_are_transcribed_from_their_own_start() -> None:
    timing = Timing()
    scripted = ScriptedRecognizer(timing, speech())
    transcriber = SegmentTranscriber(scripted)
    audio = speech().audio
    first = transcriber.final(SpeechEnded(3_000, 19_000, audio[3_000:19_000], "silence"))
    partial = transcriber.partial(25_000, audio[25_000:34_000])
    second = transcriber.final(SpeechEnded(25_000, 41_000, audio[25_000:41_000], "silence"))
    assert first.text == "Good morning everyone,"
    assert partial is not None and partial.text == "welcome to"
    assert second.text == "welcome to the lake,"  # not "Good morning ..." again
    assert timing.heard == [16_000, 9_000, 16_000]  # each decode timed on the same audio


def test_a_table_word_is_one_word_and_carries_the_mark() -> None:
    assert words("然后走到断桥，", "zh") == [(0, 2), (2, 3), (3, 4), (4, 7)]
    assert words("walk to the lake,", "en") == [(0, 4), (5, 7), (8, 11), (12, 17)]


def test_lag_counts_a_word_that_never_settles_and_times_the_rest() -> None:
    run = Run(
        screens=[
            (1.0, "好早上", ""),
            (2.0, "好早上大家，欢迎", ""),
            (2.5, "好早上大家，欢", ""),  # "欢迎" taken back: it settles for good later
            (3.0, "好早上大家，欢迎到", ""),  # "湖" (lake) never shown
        ]
    )
    got = lags(speech(), run)
    assert got.unsettled == ["lake,"]
    assert got.silent == 1  # "the": nothing to show
    assert got.seconds == pytest.approx([0.5, 0.25, 1.0, 1.125, 0.9375])


def test_goals_are_stated_on_the_mean_and_fail_with_an_unsettled_word() -> None:
    row = {"median": 1.0, "p90": 2.0, "mean": 1.5, "unsettled": 0}
    lag = {"10": {"utterance": {**row, "mean": 6.0}, "clause": dict(row)}}
    cost = {"clause": {"erasure_drawn": 0.1}}
    ten = goals(lag, cost)["lag_10s"]
    assert ten["ratio"] == pytest.approx(0.25) and ten["median_ratio"] == pytest.approx(1.0)
    assert ten["met"] is True
    lag["10"]["clause"]["unsettled"] = 1
    result = goals(lag, cost)
    assert result["lag_10s"]["met"] is False and result["all_settled"]["met"] is False
