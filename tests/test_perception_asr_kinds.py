"""Moonshine and streaming zipformer recognisers, and telling model folders apart.

Every test here runs the real sherpa-onnx recognisers on the tiny random-weight folders of
``tests/asr_support`` (which follow the published file and graph contracts), fed by real
espeak-ng speech through the real Silero VAD where a pipeline is involved.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from perception_support.cli import only_present_commands
from perception_support.speech import phrase, silence, two_phrases, write_wav

from glasses import cli
from glasses.errors import GlassesError
from glasses.perception.asr import (
    MoonshineRecognizer,
    RecognizerConfig,
    SenseVoiceRecognizer,
    StreamingTransducerRecognizer,
    inspect_folder,
    load_recognizer,
)
from glasses.perception.segmenter import SpeechEnded
from glasses.perception.transcriber import OnlineTranscriber, StreamingTranscriber, Transcript
from glasses.settings import build_settings

pytest.importorskip("sherpa_onnx")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.model

HAN = (0x4E00, 0x9FFF)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from asr_support.tiny_moonshine import build_tiny_moonshine
    from asr_support.tiny_sensevoice import build_tiny_sensevoice
    from asr_support.tiny_zipformer import build_tiny_zipformer

    root = tmp_path_factory.mktemp("asr")
    return {
        "sensevoice": build_tiny_sensevoice(root / "sensevoice", language="en"),
        "moonshine": build_tiny_moonshine(root / "moonshine").path,
        "zipformer-han": build_tiny_zipformer(root / "zh", version=1, script="han").path,
        "zipformer2-latin": build_tiny_zipformer(root / "en", version=2, script="latin").path,
    }


def copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def is_han(text: str) -> bool:
    return bool(text) and all(HAN[0] <= ord(ch) <= HAN[1] for ch in text.replace(" ", ""))


@pytest.mark.parametrize(
    ("name", "kind", "cls"),
    [
        ("sensevoice", "sensevoice", SenseVoiceRecognizer),
        ("moonshine", "moonshine", MoonshineRecognizer),
        ("zipformer-han", "transducer", StreamingTransducerRecognizer),
        ("zipformer2-latin", "transducer", StreamingTransducerRecognizer),
    ],
)
def test_the_folder_decides_the_recogniser(
    folders: dict[str, Path], name: str, kind: str, cls: type
) -> None:
    assert inspect_folder(folders[name]).kind == kind
    assert type(load_recognizer(RecognizerConfig(folders[name], num_threads=1))) is cls


def test_int8_files_win_and_two_candidates_are_an_error(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    folder = copy(folders["zipformer-han"], tmp_path / "z")
    encoder = next(folder.glob("encoder*.int8.onnx"))
    shutil.copy(encoder, folder / "encoder-epoch-99-avg-1.onnx")  # an fp32 name beside it
    assert inspect_folder(folder).parts["encoder"] == encoder
    shutil.copy(encoder, folder / "encoder-epoch-30-avg-1.int8.onnx")
    with pytest.raises(GlassesError, match="several files that could be the same model part"):
        inspect_folder(folder)
    moon = copy(folders["moonshine"], tmp_path / "m")
    (moon / "cached_decode.int8.onnx").unlink()
    with pytest.raises(GlassesError, match=r"incomplete speech model: Moonshine .* without cached"):
        inspect_folder(moon)


# --- Moonshine -------------------------------------------------------------------------------


def test_moonshine_transcribes_speech_in_english_and_silence_to_nothing(
    folders: dict[str, Path],
) -> None:
    recognizer = MoonshineRecognizer(RecognizerConfig(folders["moonshine"], num_threads=1))
    assert recognizer.recognize(silence(1.0)).text == ""
    assert recognizer.recognize(silence(1.0)).language == ""
    short = recognizer.recognize(phrase("hello there"))
    long = recognizer.recognize(phrase("turn left at the next corner and then go straight on"))
    assert short.language == long.language == "en"
    assert short.text and short.text == short.text.strip() and " " not in short.text[:1]
    assert len(long.text.split()) > len(short.text.split())  # more speech, more words
    assert recognizer.recognize(phrase("hello there")) == short  # deterministic


def test_moonshine_is_english_only(folders: dict[str, Path]) -> None:
    with pytest.raises(GlassesError, match="English only, not 'zh'"):
        MoonshineRecognizer(RecognizerConfig(folders["moonshine"], language="zh"))


def test_moonshine_decoders_from_different_exports_are_an_error(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    # sherpa would load these and log an error on every utterance, returning empty text.
    folder = copy(folders["moonshine"], tmp_path / "m")
    shutil.copy(folder / "uncached_decode.int8.onnx", folder / "cached_decode.int8.onnx")
    with pytest.raises(GlassesError, match=r"Moonshine decoders in .* do not belong together"):
        MoonshineRecognizer(RecognizerConfig(folder))
    shutil.copy(folders["moonshine"] / "cached_decode.int8.onnx", folder)
    shutil.copy(folder / "preprocess.onnx", folder / "encode.int8.onnx")
    with pytest.raises(GlassesError, match="is not a Moonshine encoder: it takes 1 inputs"):
        MoonshineRecognizer(RecognizerConfig(folder))
    (folder / "encode.int8.onnx").write_bytes(b"\x0a\xff\xff")  # a truncated download
    with pytest.raises(GlassesError, match="not a readable ONNX file"):
        MoonshineRecognizer(RecognizerConfig(folder))


# --- streaming zipformer ---------------------------------------------------------------------


def test_zipformer_names_the_language_from_the_script(folders: dict[str, Path]) -> None:
    speech = np.concatenate([phrase("turn left at the next corner"), silence(0.3)])
    zh = StreamingTransducerRecognizer(RecognizerConfig(folders["zipformer-han"], num_threads=1))
    en = StreamingTransducerRecognizer(RecognizerConfig(folders["zipformer2-latin"], 1))
    heard_zh, heard_en = zh.recognize(speech), en.recognize(speech)
    assert heard_zh.language == "zh" and is_han(heard_zh.text)
    assert heard_en.language == "en" and heard_en.text.isascii() and len(heard_en.text) > 2
    # The model writes English in capitals; captions get sentence case.
    assert heard_en.text[0].isupper() and heard_en.text[1:] == heard_en.text[1:].lower()
    assert zh.recognize(silence(1.0)).text == "" and zh.recognize(silence(1.0)).language == ""


def test_a_stream_grows_its_text_as_audio_arrives(folders: dict[str, Path]) -> None:
    recognizer = StreamingTransducerRecognizer(RecognizerConfig(folders["zipformer-han"], 1))
    speech = phrase("turn left at the next corner and then go straight on")
    stream = recognizer.open_stream()
    texts = [stream.accept(speech[i : i + 3200]).text for i in range(0, len(speech), 3200)]
    final = stream.finish().text
    assert len(set(texts)) >= 3 and all(final.startswith(t) for t in texts)
    assert final == recognizer.recognize(speech).text  # the same as all at once
    with pytest.raises(RuntimeError, match="finished"):
        stream.accept(speech[:100])


def test_streaming_partials_through_the_real_vad(folders: dict[str, Path]) -> None:
    from glasses.perception.speech import SpeechPipeline
    from glasses.perception.transcriber import transcriber_for
    from glasses.sources.audio import AudioChunk

    recognizer = load_recognizer(RecognizerConfig(folders["zipformer-han"], num_threads=1))
    transcriber = transcriber_for(recognizer)
    assert isinstance(transcriber, OnlineTranscriber)
    audio = two_phrases()
    pipeline = SpeechPipeline(transcriber=transcriber)
    chunks = [AudioChunk(audio[i : i + 320], i) for i in range(0, len(audio), 320)]
    events = list(pipeline.run(chunks))
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    finals = [e for e in events if isinstance(e, Transcript) and e.is_final]
    assert len(ended) == len(finals) == 2
    for final in finals:
        partials = [
            e
            for e in events
            if isinstance(e, Transcript) and not e.is_final and e.start_sample == final.start_sample
        ]
        assert len(partials) >= 3
        assert all(final.text.startswith(p.text) for p in partials)  # streaming never revises
        assert all(p.text.startswith(p.stable) for p in partials)
        assert partials[-1].stable and final.language == "zh" and is_han(final.text)


def check_error(folder: Path, message: str) -> None:
    with pytest.raises(GlassesError, match=message):
        StreamingTransducerRecognizer(RecognizerConfig(folder))


def test_transducer_files_sherpa_would_die_on_are_refused(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    from asr_support.onnx_build import with_metadata

    src = folders["zipformer-han"]
    folder = copy(src, tmp_path / "z")
    encoder = next(folder.glob("encoder*"))
    with_metadata(next(src.glob("encoder*")), encoder, T=None)
    check_error(folder, "metadata has no T, so sherpa-onnx cannot run it")
    with_metadata(next(src.glob("encoder*")), encoder, model_type=None)
    check_error(folder, "not a streaming zipformer encoder .no model_type")
    with_metadata(next(src.glob("encoder*")), encoder, model_type="conformer")
    check_error(folder, "model_type 'conformer'")
    with_metadata(next(src.glob("encoder*")), encoder, num_encoder_layers="1,2,1")
    check_error(folder, "its metadata describes 21: a damaged or mismatched export")
    with_metadata(next(src.glob("encoder*")), encoder, left_context_len="32,x")
    check_error(folder, "left_context_len='32,x' is not a list of integers")
    shutil.copy(next(src.glob("encoder*")), encoder)
    decoder = next(folder.glob("decoder*"))
    with_metadata(next(src.glob("decoder*")), decoder, context_size=None)
    check_error(folder, "metadata has no context_size")
    shutil.copy(next(src.glob("decoder*")), decoder)
    tokens = (folder / "tokens.txt").read_text(encoding="utf-8").splitlines()
    (folder / "tokens.txt").write_text("\n".join(tokens[:10]) + "\n", encoding="utf-8")
    check_error(folder, "35 of them are not in tokens.txt")


def test_a_missing_key_does_not_end_the_process(folders: dict[str, Path], tmp_path: Path) -> None:
    # sherpa-onnx calls exit() on missing metadata: without the check the interpreter dies.
    from asr_support.onnx_build import with_metadata

    folder = copy(folders["zipformer2-latin"], tmp_path / "z")
    with_metadata(next(folder.glob("encoder*")), next(folder.glob("encoder*")), num_heads=None)
    script = (
        "import sys; from pathlib import Path\n"
        "from glasses.errors import GlassesError\n"
        "from glasses.perception.asr import RecognizerConfig, load_recognizer\n"
        "try:\n"
        "    load_recognizer(RecognizerConfig(Path(sys.argv[1])))\n"
        "except GlassesError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stderr
    assert "metadata has no num_heads" in done.stdout


# --- the CLI and the daemon ------------------------------------------------------------------


def test_listen_streams_partials_with_a_zipformer(
    folders: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    only_present_commands(monkeypatch)
    wav = write_wav(tmp_path / "two.wav", two_phrases())
    folder = str(folders["zipformer2-latin"])
    code = cli.main(["listen", "--file", str(wav), "--asr-model", folder, "--json", "--partials"])
    out, err = capsys.readouterr()
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    finals = [e for e in events if e["event"] == "final"]
    partials = [e for e in events if e["event"] == "partial"]
    assert len(finals) == 2 and all(f["language"] == "en" and f["text"] for f in finals)
    assert len(partials) >= 4
    code = cli.main(["listen", "--file", str(wav), "--asr-model", str(folders["moonshine"])])
    out, _ = capsys.readouterr()
    rows = out.splitlines()
    assert code == 0 and len(rows) == 2 and all("[en]" in row for row in rows)


@pytest.mark.parametrize(
    ("name", "transcriber"),
    [("zipformer-han", OnlineTranscriber), ("moonshine", StreamingTranscriber)],
)
def test_the_daemon_runs_whichever_model_is_configured(
    folders: dict[str, Path], name: str, transcriber: type
) -> None:
    from glasses.runtime.parts import Parts, add_recognizer, speech_pipeline

    settings = build_settings({"asr": {"model_dir": str(folders[name]), "threads": 1}})
    parts = Parts()
    add_recognizer(settings, parts)
    assert parts.notes == [] and parts.recognizer is not None
    pipeline = speech_pipeline(settings, parts)
    assert type(pipeline.transcriber) is transcriber
