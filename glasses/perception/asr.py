"""Offline speech recognition with SenseVoice through sherpa-onnx, plus the recogniser contract.

SenseVoice-Small is a non-streaming model that names the language it heard (zh, en, ja, ko,
yue); "streaming" partials are made by re-decoding the open utterance (see
:mod:`glasses.perception.transcriber`).  A model folder is what sherpa-onnx publishes:
``model.int8.onnx`` (or ``model.onnx``) and ``tokens.txt``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np

from glasses.errors import GlassesError
from glasses.extras import require
from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray

MODEL_ENV = "GLASSES_SENSEVOICE_DIR"
PULL_HINT = "glasses models pull sensevoice"
MODEL_FILES = ("model.int8.onnx", "model.onnx")
FEATURE_DIM = 80  # fbank bins sherpa-onnx computes for SenseVoice (stacked by lfr_window_size)

# Model metadata sherpa-onnx reads.  It ends the whole process (C ``_Exit``, no exception) when
# one is missing, so another kind of model in the folder is caught here first.
METADATA_INTS = ("vocab_size", "lfr_window_size", "lfr_window_shift", "normalize_samples")
SENSEVOICE_INTS = (
    "with_itn",
    "without_itn",
    "lang_auto",
    "lang_zh",
    "lang_en",
    "lang_ja",
    "lang_ko",
    "lang_yue",
)
CMVN_VECTORS = ("neg_mean", "inv_stddev")


@dataclass(frozen=True)
class Recognition:
    text: str
    language: str  # ISO 639-1-ish code from the model ("en", "zh", "yue"), "" if not given


class Recognizer(Protocol):
    def recognize(
        self, samples: FloatArray, sample_rate_hz: int = SAMPLE_RATE_HZ
    ) -> Recognition: ...


@dataclass(frozen=True)
class SenseVoiceConfig:
    model_dir: Path
    num_threads: int = 2
    language: str = "auto"  # or "zh", "en", "ja", "ko", "yue" to skip language identification
    use_itn: bool = True  # inverse text normalisation: digits and punctuation in the output


def default_model_dir() -> Path | None:
    """``$GLASSES_SENSEVOICE_DIR``, else the folder ``glasses models pull sensevoice`` made."""
    value = os.environ.get(MODEL_ENV, "").strip()
    if value:
        return Path(value)
    from glasses.models.store import installed_model_dir

    try:
        return installed_model_dir("sensevoice")
    except ImportError:  # platformdirs locates the store when $GLASSES_MODELS_DIR is unset
        return None


def find_model_files(model_dir: Path) -> tuple[Path, Path]:
    """``(model, tokens)`` in a SenseVoice folder, or an error saying what is missing."""
    if not model_dir.is_dir():
        raise GlassesError(f"speech model folder not found: {model_dir} (run: {PULL_HINT})")
    tokens = model_dir / "tokens.txt"
    model = next((model_dir / n for n in MODEL_FILES if (model_dir / n).is_file()), None)
    if model is None or not tokens.is_file():
        missing = " and ".join(
            what
            for what, ok in (
                ("model.int8.onnx / model.onnx", model),
                ("tokens.txt", tokens.is_file()),
            )
            if not ok
        )
        raise GlassesError(
            f"{model_dir} is not a SenseVoice folder: no {missing} (run: {PULL_HINT})"
        )
    return model, tokens


def parse_language(tag: str) -> str:
    """SenseVoice reports ``<|en|>``; keep ``en``.  ``<|nospeech|>`` is no language: ``""``."""
    code = tag.strip().removeprefix("<|").removesuffix("|>")
    return "" if code == "nospeech" else code


def _varint(f: BinaryIO) -> int:
    value = shift = 0
    while shift < 64:
        byte = f.read(1)
        if not byte:
            raise ValueError("ends in the middle of a field (truncated?)")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
    raise ValueError("malformed varint")


def _fields(f: BinaryIO, size: int, keep: tuple[int, ...]) -> Iterator[tuple[int, bytes]]:
    """The length-delimited protobuf fields numbered ``keep`` in the next ``size`` bytes, as
    ``(number, bytes)``; everything else is checked for shape and skipped unread."""
    while f.tell() < size:
        key = _varint(f)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ValueError("not a protobuf message")
        if wire == 0:
            _varint(f)
            continue
        length = {1: 8, 5: 4}.get(wire)
        if length is None:
            if wire != 2:
                raise ValueError(f"unexpected wire type {wire}")
            length = _varint(f)
        if f.tell() + length > size:
            raise ValueError("ends in the middle of a field (truncated?)")
        if wire == 2 and field in keep:
            yield field, f.read(length)
        else:
            f.seek(length, os.SEEK_CUR)


def onnx_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, found without reading its (large) graph."""
    meta: dict[str, str] = {}
    with path.open("rb") as f:
        for _, prop in _fields(f, path.stat().st_size, keep=(14,)):  # ModelProto.metadata_props
            entry = dict(_fields(io.BytesIO(prop), len(prop), keep=(1, 2)))  # key, value
            meta[entry.get(1, b"").decode()] = entry.get(2, b"").decode()
    return meta


def check_sensevoice_files(model: Path, tokens: Path) -> None:
    """Raise a :class:`GlassesError` unless sherpa-onnx can load ``model`` as SenseVoice with
    ``tokens``: it exits the process on missing metadata and fails mid-decode when
    ``tokens.txt`` lacks an id the model emits."""

    def fail(why: str) -> GlassesError:
        return GlassesError(f"cannot load SenseVoice from {model}: {why}")

    try:
        meta = onnx_metadata(model)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise fail(f"not a readable ONNX file ({exc}); download it again ({PULL_HINT})") from exc
    sense_voice = "Nano" not in meta.get("comment", "")  # sherpa's test for FunASR-nano
    wanted = METADATA_INTS + (SENSEVOICE_INTS + CMVN_VECTORS if sense_voice else ())
    missing = [key for key in wanted if not meta.get(key, "").strip()]
    if missing:
        raise fail(
            f"its metadata has no {', '.join(missing)}, so it is not a sherpa-onnx SenseVoice "
            f"export (another kind of model?); get one with: {PULL_HINT}"
        )
    ints: dict[str, int] = {}
    for key in wanted:
        if key not in CMVN_VECTORS:
            try:
                ints[key] = int(meta[key])
            except ValueError:
                ints[key] = -1
            if ints[key] < 0:
                raise fail(f"metadata {key}={meta[key]!r} is not a non-negative integer")
    if sense_voice:
        dim = FEATURE_DIM * ints["lfr_window_size"]
        for key in CMVN_VECTORS:
            try:
                count = len([float(v) for v in meta[key].split(",") if v.strip()])
            except ValueError:
                count = -1
            if count != dim:
                raise fail(f"metadata {key} is not {dim} comma-separated numbers")
    try:
        ids = {int(line.split()[-1]) for line in tokens.open(encoding="utf-8") if line.split()}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise GlassesError(f"cannot read {tokens}: not a sherpa-onnx tokens.txt ({exc})") from exc
    absent = sum(1 for i in range(ints["vocab_size"]) if i not in ids)
    if absent:
        raise GlassesError(
            f"{tokens} does not belong to {model}: the model has {ints['vocab_size']} tokens, "
            f"{absent} of them are not in tokens.txt ({PULL_HINT})"
        )


class SenseVoiceRecognizer:
    """One sherpa-onnx ``OfflineRecognizer``, created once; ``recognize`` is not thread-safe."""

    def __init__(self, config: SenseVoiceConfig) -> None:
        self.config = config
        model, tokens = find_model_files(config.model_dir)
        sherpa = require("sherpa_onnx", "asr", purpose="speech recognition")
        check_sensevoice_files(model, tokens)
        try:
            self._recognizer: Any = sherpa.OfflineRecognizer.from_sense_voice(
                model=str(model),
                tokens=str(tokens),
                num_threads=config.num_threads,
                language="" if config.language == "auto" else config.language,
                use_itn=config.use_itn,
            )
        except Exception as exc:  # sherpa raises RuntimeError / ValueError on bad files
            raise GlassesError(f"cannot load SenseVoice from {model}: {exc}") from exc

    def recognize(self, samples: FloatArray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Recognition:
        stream = self._recognizer.create_stream()
        stream.accept_waveform(sample_rate_hz, np.ascontiguousarray(samples, dtype=np.float32))
        self._recognizer.decode_stream(stream)
        result = stream.result
        return Recognition(str(result.text).strip(), parse_language(str(result.lang)))
