"""Offline speech recognition with SenseVoice through sherpa-onnx, plus the recogniser contract.

SenseVoice-Small is a non-streaming model that names the language it heard (zh, en, ja, ko,
yue); "streaming" partials are made by re-decoding the open utterance (see
:mod:`glasses.perception.transcriber`).  A model folder is what sherpa-onnx publishes:
``model.int8.onnx`` (or ``model.onnx``) and ``tokens.txt``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from glasses.errors import GlassesError
from glasses.extras import require
from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray

MODEL_ENV = "GLASSES_SENSEVOICE_DIR"
PULL_HINT = "glasses models pull sensevoice"
MODEL_FILES = ("model.int8.onnx", "model.onnx")


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
    value = os.environ.get(MODEL_ENV, "").strip()
    return Path(value) if value else None


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
    """SenseVoice reports ``<|en|>``; keep ``en``."""
    return tag.strip().removeprefix("<|").removesuffix("|>")


class SenseVoiceRecognizer:
    """One sherpa-onnx ``OfflineRecognizer``, created once; ``recognize`` is not thread-safe."""

    def __init__(self, config: SenseVoiceConfig) -> None:
        self.config = config
        model, tokens = find_model_files(config.model_dir)
        sherpa = require("sherpa_onnx", "asr", purpose="speech recognition")
        try:
            self._recognizer: Any = sherpa.OfflineRecognizer.from_sense_voice(
                model=str(model),
                tokens=str(tokens),
                num_threads=config.num_threads,
                language="" if config.language == "auto" else config.language,
                use_itn=config.use_itn,
            )
        except Exception as exc:  # sherpa raises RuntimeError / ValueError on bad files
            raise GlassesError(f"cannot load SenseVoice from {config.model_dir}: {exc}") from exc

    def recognize(self, samples: FloatArray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Recognition:
        stream = self._recognizer.create_stream()
        stream.accept_waveform(sample_rate_hz, np.ascontiguousarray(samples, dtype=np.float32))
        self._recognizer.decode_stream(stream)
        result = stream.result
        return Recognition(str(result.text).strip(), parse_language(str(result.lang)))
