"""SenseVoice through sherpa-onnx end to end, on a tiny random-weight model built at test time.

The model (``asr_support.tiny_sensevoice``) follows the real file, graph and metadata contract,
so these tests run glasses' real loading and decoding code against the real
``sherpa_onnx.OfflineRecognizer``.  Its weights are random, so the text is gibberish; what it
does guarantee is checked instead: the language tag it is built to report (or is told to use),
silence decoding to nothing, punctuation only with ITN, and text that follows the audio.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from asr_support.onnx_build import with_metadata
from asr_support.tiny_sensevoice import (
    BLANK,
    EMOTION_TAGS,
    EVENT_TAGS,
    INPUT_DIM,
    LANGUAGE_IDS,
    LANGUAGE_TAGS,
    PUNCTUATION,
    SCRIPT_PIECES,
    TEXTNORM_IDS,
    TOKEN_ID,
    VOCAB,
    build_tiny_sensevoice,
    build_tiny_sensevoice_model,
    metadata,
    write_tokens,
)
from perception_support.cli import only_present_commands
from perception_support.speech import phrase, silence, two_phrases, write_wav

from glasses import cli
from glasses.errors import GlassesError
from glasses.perception.asr import (
    MODEL_ENV,
    RecognizerConfig,
    SenseVoiceRecognizer,
    check_sensevoice_files,
    inspect_folder,
    onnx_metadata,
)
from glasses.perception.segmenter import SpeechEnded
from glasses.perception.transcriber import StreamingTranscriber, Transcript

pytest.importorskip("onnx")
pytest.importorskip("sherpa_onnx")

pytestmark = pytest.mark.model

HAN = set("".join(SCRIPT_PIECES["han"]))
KANA = set("".join(SCRIPT_PIECES["kana"]))
PUNCT = set("".join(PUNCTUATION))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sensevoice")
    built = {"zh": build_tiny_sensevoice(root / "zh", seed=0)}
    if importlib.util.find_spec("onnxruntime") is not None:  # the quantiser is onnxruntime's
        built["zh-int8"] = build_tiny_sensevoice(root / "zh-int8", seed=0, int8=True)
    built["nospeech"] = build_tiny_sensevoice(root / "nospeech", seed=1, language="nospeech")
    return built


@pytest.fixture(scope="module")
def zh(models: dict[str, Path]) -> Path:
    return models["zh"]


@pytest.fixture(scope="module")
def recognizer(zh: Path) -> SenseVoiceRecognizer:
    return SenseVoiceRecognizer(RecognizerConfig(zh))


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return np.concatenate([silence(0.3), phrase("Turn left at the next corner"), silence(0.3)])


@pytest.fixture(scope="module")
def long_speech(speech: np.ndarray) -> np.ndarray:
    return np.concatenate([speech, phrase("Thank you very much, see you tomorrow"), silence(0.3)])


def share(text: str, chars: set[str]) -> float:
    letters = [c for c in text if not c.isspace() and c not in PUNCT]
    return sum(c in chars for c in letters) / max(1, len(letters))


# --- the model itself follows the contract -------------------------------------------------


def test_the_model_follows_the_sherpa_sensevoice_contract(models: dict[str, Path]) -> None:
    import onnx

    zh = models["zh"]
    model = onnx.load(str(zh / "model.onnx"))
    elem = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    assert list(elem) == ["x", "x_length", "language", "text_norm"]  # sherpa feeds by position
    int32 = onnx.TensorProto.INT32
    assert list(elem.values()) == [onnx.TensorProto.FLOAT, int32, int32, int32]
    assert [o.name for o in model.graph.output] == ["logits"]
    meta = {p.key: p.value for p in model.metadata_props}
    assert onnx_metadata(zh / "model.onnx") == meta  # our reader agrees with onnx's
    assert (
        int(meta["vocab_size"])
        == len(VOCAB)
        == len((zh / "tokens.txt").read_text().split("\n")) - 1
    )
    assert len(meta["neg_mean"].split(",")) == len(meta["inv_stddev"].split(",")) == INPUT_DIM
    assert "Nano" not in meta["comment"]  # sherpa would take it for FunASR-nano
    check_sensevoice_files(zh / "model.onnx", zh / "tokens.txt")
    if "zh-int8" in models:  # the quantised export keeps the interface and the metadata
        int8 = onnx.load(str(models["zh-int8"] / "model.int8.onnx"))
        assert [i.name for i in int8.graph.input] == list(elem)
        assert onnx_metadata(models["zh-int8"] / "model.int8.onnx") == meta
        assert "MatMulInteger" in {n.op_type for n in int8.graph.node}


def test_query_frames_and_padding_in_a_batch() -> None:
    ort = pytest.importorskip("onnxruntime")
    from asr_support.tiny_sensevoice import make_model

    model = make_model(0, language="zh", emotion="HAPPY", event="Laughter")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((2, 9, INPUT_DIM)).astype(np.float32)
    (logits,) = session.run(
        None,
        {
            "x": x,
            "x_length": np.array([9, 5], np.int32),
            "language": np.array([LANGUAGE_IDS["auto"], LANGUAGE_IDS["ko"]], np.int32),
            "text_norm": np.array([TEXTNORM_IDS["withitn"], TEXTNORM_IDS["woitn"]], np.int32),
        },
    )
    assert logits.shape == (2, 9 + 4, len(VOCAB))
    best = [[VOCAB[i] for i in row] for row in logits.argmax(-1)]
    assert best[0][:4] == ["<|zh|>", "<|HAPPY|>", "<|Laughter|>", "<|withitn|>"]
    assert best[1][:4] == ["<|ko|>", "<|HAPPY|>", "<|Laughter|>", "<|woitn|>"]
    assert best[1][4 + 5 :] == [BLANK] * 4  # past x_length
    tags = set(LANGUAGE_TAGS + EMOTION_TAGS + EVENT_TAGS) | {"<s>", "</s>"}
    assert not tags & {p for row in best for p in row[4:]}  # speech frames never emit tags
    assert not PUNCT & set(best[1][4:])  # no punctuation without ITN


def test_sherpa_decodes_a_batch_like_single_streams(zh: Path, speech: np.ndarray) -> None:
    import sherpa_onnx

    raw = sherpa_onnx.OfflineRecognizer.from_sense_voice(
        model=str(zh / "model.onnx"), tokens=str(zh / "tokens.txt"), use_itn=True
    )
    audios = [speech, speech[: len(speech) // 2], silence(0.5)]

    def stream(audio: np.ndarray) -> object:
        s = raw.create_stream()
        s.accept_waveform(16_000, audio)
        return s

    single = []
    for audio in audios:
        s = stream(audio)
        raw.decode_stream(s)
        single.append(s.result)
    batch = [stream(a) for a in audios]
    raw.decode_streams(batch)  # padded to the longest, x_length tells the model where to stop
    assert [s.result.text for s in batch] == [r.text for r in single]
    assert single[0].text and single[2].text == ""
    assert (single[0].lang, single[0].emotion, single[0].event) == (
        "<|zh|>",
        "<|NEUTRAL|>",
        "<|Speech|>",
    )


# --- glasses' recogniser on it ------------------------------------------------------------


@pytest.mark.parametrize("variant", ["zh", "zh-int8"])
def test_recognizer_loads_the_folder_and_transcribes_speech(
    models: dict[str, Path], variant: str, speech: np.ndarray
) -> None:
    if variant not in models:
        pytest.skip("onnxruntime (its quantiser builds the int8 model) is not installed")
    folder = models[variant]
    model = inspect_folder(folder).main_file
    assert model.name == ("model.int8.onnx" if variant.endswith("int8") else "model.onnx")
    heard = SenseVoiceRecognizer(RecognizerConfig(folder, num_threads=1)).recognize(speech)
    assert heard.language == "zh"  # "<|zh|>" from the first query frame
    assert len(heard.text) >= 5 and heard.text == heard.text.strip()
    assert share(heard.text, HAN) > 0.8  # the zh query biases the model to CJK pieces
    assert not any(tag in heard.text for tag in LANGUAGE_TAGS + EMOTION_TAGS + EVENT_TAGS)


def test_silence_is_no_text_but_still_a_language(recognizer: SenseVoiceRecognizer) -> None:
    heard = recognizer.recognize(silence(1.0))
    assert (heard.text, heard.language) == ("", "zh")


def test_the_language_setting_reaches_the_model(
    zh: Path, recognizer: SenseVoiceRecognizer, speech: np.ndarray
) -> None:
    auto = recognizer.recognize(speech)
    english = SenseVoiceRecognizer(RecognizerConfig(zh, language="en")).recognize(speech)
    japanese = SenseVoiceRecognizer(RecognizerConfig(zh, language="ja")).recognize(speech)
    cantonese = SenseVoiceRecognizer(RecognizerConfig(zh, language="yue")).recognize(speech)
    assert [h.language for h in (auto, english, japanese, cantonese)] == ["zh", "en", "ja", "yue"]
    assert share(english.text, set("abcdefghijklmnopqrstuvwxyz")) > 0.8 and " " in english.text
    assert share(japanese.text, KANA) > 0.8
    assert share(cantonese.text, HAN) > 0.8


def test_itn_setting_reaches_the_model(zh: Path, long_speech: np.ndarray) -> None:
    with_itn = SenseVoiceRecognizer(RecognizerConfig(zh, use_itn=True)).recognize(long_speech)
    without = SenseVoiceRecognizer(RecognizerConfig(zh, use_itn=False)).recognize(long_speech)
    assert PUNCT & set(with_itn.text)  # <|withitn|>: punctuation allowed
    assert not PUNCT & set(without.text)  # <|woitn|>: none, as real SenseVoice
    assert with_itn.language == without.language == "zh"


def test_no_speech_is_no_language(models: dict[str, Path], speech: np.ndarray) -> None:
    heard = SenseVoiceRecognizer(RecognizerConfig(models["nospeech"])).recognize(speech)
    assert heard.language == ""  # "<|nospeech|>" is not a language for translation to use


def test_decoding_is_deterministic_and_follows_the_audio(
    zh: Path, recognizer: SenseVoiceRecognizer, speech: np.ndarray
) -> None:
    first = recognizer.recognize(speech)
    assert recognizer.recognize(speech) == first
    assert SenseVoiceRecognizer(RecognizerConfig(zh)).recognize(speech) == first  # a new load
    assert recognizer.recognize(phrase("Good morning everybody")).text != first.text
    assert recognizer.recognize(speech * 0.5).language == "zh"
    # 8 kHz audio is resampled by sherpa and still understood as speech.
    assert recognizer.recognize(speech[::2].copy(), sample_rate_hz=8_000).text


# --- partials and finals -------------------------------------------------------------------


def test_streaming_transcriber_partials_settle_into_the_final(
    recognizer: SenseVoiceRecognizer, speech: np.ndarray
) -> None:
    transcriber = StreamingTranscriber(recognizer)
    start = 48_000
    partials: list[Transcript] = []
    for end in range(1_600, len(speech) + 1, 1_600):  # the open segment grows by 0.1 s
        partial = transcriber.partial(start, speech[:end])
        if partial is not None:
            partials.append(partial)
    assert len(partials) >= 5
    assert all(not p.is_final and p.text.startswith(p.stable) for p in partials)
    assert {p.language for p in partials} == {"zh"}
    stables = [p.stable for p in partials]
    assert all(b.startswith(a) for a, b in itertools.pairwise(stables))  # settled text stays
    assert stables[-1]  # and some settles before the end
    final = transcriber.final(SpeechEnded(start, start + len(speech), speech, "silence"))
    assert final.is_final and final.text == final.stable == recognizer.recognize(speech).text
    assert final.text.startswith(stables[-1]) and final.language == "zh"
    assert final.start_s == 3.0


# --- glasses listen ------------------------------------------------------------------------


@pytest.fixture
def _commands(monkeypatch: pytest.MonkeyPatch) -> None:
    only_present_commands(monkeypatch)  # these tests need only listen


@pytest.fixture(scope="module")
def two_phrases_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("audio") / "two.wav", two_phrases())


@pytest.mark.usefixtures("_commands")
def test_listen_prints_transcripts_with_language(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    zh: Path,
    two_phrases_wav: Path,
) -> None:
    pytest.importorskip("onnxruntime")  # Silero VAD
    from glasses.perception.vad import locate_model

    try:
        locate_model()
    except GlassesError as exc:
        pytest.skip(str(exc))
    assert cli.main(["listen", "--file", str(two_phrases_wav), "--asr-model", str(zh)]) == 0
    out, err = capsys.readouterr()
    rows = out.splitlines()
    assert len(rows) == 2 and "models pull" not in err
    for row in rows:
        times, text = row.split(" s  [zh] ")
        assert text and share(text, HAN) > 0.8
        start, end = (float(t) for t in times.split(" – "))
        assert 0 < start < end
    # The same folder from $GLASSES_SENSEVOICE_DIR, as JSON with partials.
    monkeypatch.setenv(MODEL_ENV, str(zh))
    assert cli.main(["listen", "--file", str(two_phrases_wav), "--json", "--partials"]) == 0
    events = [json.loads(line) for line in capsys.readouterr()[0].splitlines()]
    finals = [e for e in events if e["event"] == "final"]
    assert [f["text"] for f in finals] == [r.split("] ", 1)[1] for r in rows]
    assert {f["language"] for f in finals} == {"zh"}
    assert any(e["event"] == "partial" and e["text"] for e in events)


@pytest.mark.usefixtures("_commands")
def test_listen_with_a_broken_model_says_which_file(
    capsys: pytest.CaptureFixture[str], zh: Path, tmp_path: Path, two_phrases_wav: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    data = (zh / "model.onnx").read_bytes()
    (broken / "model.onnx").write_bytes(data[: len(data) // 2])  # an interrupted download
    (broken / "tokens.txt").write_bytes((zh / "tokens.txt").read_bytes())
    code = cli.main(["listen", "--file", str(two_phrases_wav), "--asr-model", str(broken)])
    err = capsys.readouterr()[1]
    assert code == 2
    assert f"glasses: error: cannot load SenseVoice from {broken / 'model.onnx'}" in err
    assert "glasses models pull sensevoice" in err


# --- broken folders are clear errors -------------------------------------------------------


def copy_folder(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_corrupted_model_is_an_error_naming_the_file(zh: Path, tmp_path: Path) -> None:
    folder = copy_folder(zh, tmp_path / "m")
    model = folder / "model.onnx"
    data = bytearray(model.read_bytes())
    model.write_bytes(bytes(data[:-1000]))  # truncated
    with pytest.raises(GlassesError, match=f"cannot load SenseVoice from {model}"):
        SenseVoiceRecognizer(RecognizerConfig(folder))
    model.write_bytes(b"\x0f\xff" * 8 + bytes(data[16:]))  # a garbled header
    with pytest.raises(GlassesError, match=f"cannot load SenseVoice from {model}"):
        SenseVoiceRecognizer(RecognizerConfig(folder))


def test_missing_tokens_is_an_error_naming_the_folder(zh: Path, tmp_path: Path) -> None:
    folder = copy_folder(zh, tmp_path / "m")
    (folder / "tokens.txt").unlink()
    with pytest.raises(
        GlassesError,
        match=rf"{folder} is an incomplete speech model: SenseVoice .* without tokens\.txt",
    ):
        SenseVoiceRecognizer(RecognizerConfig(folder))


def test_tokens_of_another_model_are_an_error_at_load(zh: Path, tmp_path: Path) -> None:
    # Without the check sherpa loads this and raises IndexError in the middle of decoding.
    folder = copy_folder(zh, tmp_path / "m")
    write_tokens(folder / "tokens.txt", VOCAB[:20])
    with pytest.raises(GlassesError, match=rf"{len(VOCAB) - 20} of them are not in tokens\.txt"):
        SenseVoiceRecognizer(RecognizerConfig(folder))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"with_itn": None, "lang_zh": None}, "metadata has no with_itn, lang_zh"),
        ({"neg_mean": None}, "metadata has no neg_mean"),
        ({"vocab_size": "-1"}, "vocab_size='-1' is not a non-negative integer"),
        ({"inv_stddev": "1,2,3"}, "inv_stddev is not 560 comma-separated numbers"),
        ({"neg_mean": "x," * 560}, "neg_mean is not 560 comma-separated numbers"),
    ],
)
def test_metadata_sherpa_needs_is_checked_first(
    zh: Path, tmp_path: Path, changes: dict[str, str | None], message: str
) -> None:
    model = with_metadata(zh / "model.onnx", tmp_path / "model.onnx", **changes)
    with pytest.raises(GlassesError, match=rf"cannot load SenseVoice from {model}: .*{message}"):
        check_sensevoice_files(model, zh / "tokens.txt")


def test_another_kind_of_model_does_not_kill_the_process(zh: Path, tmp_path: Path) -> None:
    # sherpa-onnx calls _Exit(-1) when SenseVoice metadata is missing (e.g. a Paraformer folder,
    # which has the same file names); glasses must refuse it with an error instead.
    folder = tmp_path / "paraformer"
    folder.mkdir()
    with_metadata(zh / "model.onnx", folder / "model.int8.onnx", with_itn=None, lang_auto=None)
    (folder / "tokens.txt").write_bytes((zh / "tokens.txt").read_bytes())
    script = (
        "import sys; from pathlib import Path\n"
        "from glasses.errors import GlassesError\n"
        "from glasses.perception.asr import RecognizerConfig, SenseVoiceRecognizer\n"
        "try:\n"
        "    SenseVoiceRecognizer(RecognizerConfig(Path(sys.argv[1])))\n"
        "except GlassesError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    assert "metadata has no with_itn, lang_auto" in done.stdout


def test_builder_metadata_matches_what_sherpa_reads() -> None:
    from asr_support.tiny_sensevoice import make_weights

    from glasses.perception.asr import CMVN_VECTORS, METADATA_INTS, SENSEVOICE_INTS

    meta = metadata(make_weights(0, language="zh", emotion="NEUTRAL", event="Speech"))
    assert set(METADATA_INTS + SENSEVOICE_INTS + CMVN_VECTORS) <= set(meta)
    assert {k: int(meta[f"lang_{k}"]) for k in LANGUAGE_IDS} == LANGUAGE_IDS
    assert TOKEN_ID[BLANK] == 0 and "blank_id" not in meta  # sherpa's default blank is 0
    with pytest.raises(ValueError, match="language must be one of"):
        build_tiny_sensevoice_model(Path("unused"), language="auto")
