"""Speech recognition: stable prefixes, partial/final logic with a fake recogniser, SenseVoice."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perception_support.speech import phrase, silence

from glasses.errors import GlassesError
from glasses.perception.asr import (
    MODEL_ENV,
    Recognition,
    RecognizerConfig,
    SenseVoiceRecognizer,
    default_model_dir,
    inspect_folder,
    parse_language,
)
from glasses.perception.segmenter import SpeechEnded
from glasses.perception.transcriber import (
    StreamingTranscriber,
    TranscriberConfig,
    Transcript,
    stable_prefix,
)

pytestmark = pytest.mark.fast

SENTENCE = ["turn", "left", "at", "the", "next", "corner"]


class FakeRecognizer:
    """Hears one more word per 0.25 s of audio; every other 0.2 s it mishears the newest word."""

    def __init__(self, language: str = "en") -> None:
        self.language = language
        self.calls: list[int] = []

    def recognize(self, samples: np.ndarray, sample_rate_hz: int = 16_000) -> Recognition:
        self.calls.append(len(samples))
        heard = min(len(SENTENCE), len(samples) // 4000)
        text = " ".join(SENTENCE[:heard])
        if heard and (len(samples) // 3200) % 2:
            text = text[:-1] + "?"
        return Recognition(text, self.language)


def test_stable_prefix_waits_for_agreement_and_stops_at_word_starts() -> None:
    assert stable_prefix(["turn le"], window=3) == ""  # one decode proves nothing
    assert stable_prefix(["turn le", "turn left a", "turn left at"], window=3) == "turn "
    assert stable_prefix(["turn left", "turn left", "turn left"], window=3) == "turn left"
    assert stable_prefix(["下一站西", "下一站西湖", "下一站西湖到了"], window=3) == "下一站西"
    assert stable_prefix(["abc", "xyz", "turn", "turn"], window=2) == "turn"
    with pytest.raises(ValueError):
        stable_prefix(["a"], window=0)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(alphabet="ab 西湖.", max_size=12), min_size=1, max_size=6), st.integers(1, 4)
)
def test_stable_prefix_is_a_prefix_of_every_recent_partial(
    partials: list[str], window: int
) -> None:
    prefix = stable_prefix(partials, window)
    if len(partials) < window:
        assert prefix == ""
    for p in partials[-window:]:
        assert p.startswith(prefix)
    assert stable_prefix([partials[-1]] * window, window) == partials[-1]


def test_partials_every_200_ms_of_new_speech_and_a_final_at_the_end() -> None:
    recognizer = FakeRecognizer()
    transcriber = StreamingTranscriber(recognizer, TranscriberConfig(stable_window=3))
    audio = np.zeros(32_000, dtype=np.float32)
    partials: list[Transcript] = []
    for end in range(1600, len(audio) + 1, 1600):  # the open segment grows by 0.1 s at a time
        partial = transcriber.partial(5_000, audio[:end])
        if partial is not None:
            partials.append(partial)
    decoded = [p.end_sample - 5_000 for p in partials]
    assert decoded[0] == 8_000  # nothing before min_partial_s (0.5 s)
    assert all(b - a == 3_200 for a, b in itertools.pairwise(decoded))  # every 0.2 s
    assert all(not p.is_final and p.text.startswith(p.stable) for p in partials)
    assert partials[-1].stable == "turn left at the next "  # the last word is still moving
    assert partials[-1].tentative == partials[-1].text[len(partials[-1].stable) :]
    ended = SpeechEnded(5_000, 37_000, audio, "silence")
    final = transcriber.final(ended)
    assert final.is_final and final.text == final.stable == "turn left at the next corner"
    assert (final.start_s, final.end_s, final.language) == (5_000 / 16_000, 37_000 / 16_000, "en")
    # A new utterance starts with a clean slate.
    assert transcriber.partial(40_000, audio[:8_000]) is not None
    assert transcriber.partial(40_000, audio[:8_000]) is None


@pytest.mark.model
def test_pipeline_transcribes_each_segment_of_real_speech() -> None:
    pytest.importorskip("onnxruntime")
    from glasses.perception.segmenter import SpeechStarted
    from glasses.perception.speech import SpeechPipeline
    from glasses.sources.audio import AudioChunk

    audio = np.concatenate(
        [
            silence(0.5),
            phrase("Turn left at the next corner"),
            silence(1.0),
            phrase("Thank you"),
            silence(0.8),
        ]
    )
    recognizer = FakeRecognizer("en")
    pipeline = SpeechPipeline(transcriber=StreamingTranscriber(recognizer))
    chunks = [AudioChunk(audio[i : i + 1600], i) for i in range(0, len(audio), 1600)]
    events = list(pipeline.run(chunks))
    kinds = [
        "start"
        if isinstance(e, SpeechStarted)
        else "end"
        if isinstance(e, SpeechEnded)
        else ("final" if e.is_final else "partial")
        for e in events
    ]
    compact = [k for i, k in enumerate(kinds) if k != "partial" or kinds[i - 1] != "partial"]
    assert compact == ["start", "partial", "end", "final", "start", "partial", "end", "final"]
    finals = [e for e in events if isinstance(e, Transcript) and e.is_final]
    assert finals[0].text.startswith("turn left") and finals[0].language == "en"


def test_model_folder_checks_name_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(GlassesError, match=r"not found: .*glasses models pull sensevoice"):
        inspect_folder(tmp_path / "absent")
    with pytest.raises(GlassesError, match="not a speech model folder: it holds none of Sen"):
        inspect_folder(tmp_path)
    (tmp_path / "model.int8.onnx").write_bytes(b"")
    with pytest.raises(GlassesError, match=r"incomplete .*SenseVoice .* without tokens\.txt"):
        inspect_folder(tmp_path)
    (tmp_path / "tokens.txt").write_text("<blk> 0\n")
    (tmp_path / "model.onnx").write_bytes(b"")  # the int8 file wins
    folder = inspect_folder(tmp_path)
    assert folder.kind == "sensevoice" and folder.tokens == tmp_path / "tokens.txt"
    assert folder.parts == {"model": tmp_path / "model.int8.onnx"}
    monkeypatch.setenv(MODEL_ENV, str(tmp_path))
    assert default_model_dir() == tmp_path
    monkeypatch.delenv(MODEL_ENV)
    assert default_model_dir() is None
    assert parse_language("<|yue|>") == "yue" and parse_language("") == ""


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("sherpa_onnx")
    (tmp_path / "model.onnx").write_bytes(b"\x00" * 100)
    (tmp_path / "tokens.txt").write_text("<blk> 0\n")
    with pytest.raises(GlassesError, match="cannot load SenseVoice"):
        SenseVoiceRecognizer(RecognizerConfig(tmp_path))
