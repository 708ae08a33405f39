"""SenseVoice-Small through sherpa-onnx: the default recogniser.

A non-streaming model for Mandarin, English, Japanese, Korean and Cantonese that names the
language it heard; "streaming" partials are made by re-decoding the open utterance (see
:mod:`glasses.perception.transcriber`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np

from glasses.errors import GlassesError
from glasses.extras import require
from glasses.onnx_wire.metadata import onnx_metadata
from glasses.perception.asr.folders import PULL_HINT, AsrFolder, check_tokens_cover, inspect_folder
from glasses.perception.asr.recognition import Recognition, RecognizerConfig
from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray

FEATURE_DIM: Final = 80  # fbank bins sherpa-onnx computes (stacked by lfr_window_size)
LANGUAGES: Final = ("zh", "en", "ja", "ko", "yue")

# Model metadata sherpa-onnx reads; it exits the process when one is missing.
METADATA_INTS: Final = ("vocab_size", "lfr_window_size", "lfr_window_shift", "normalize_samples")
SENSEVOICE_INTS: Final = (
    "with_itn",
    "without_itn",
    "lang_auto",
    "lang_zh",
    "lang_en",
    "lang_ja",
    "lang_ko",
    "lang_yue",
)
CMVN_VECTORS: Final = ("neg_mean", "inv_stddev")


def parse_language(tag: str) -> str:
    """SenseVoice reports ``<|en|>``; keep ``en``.  ``<|nospeech|>`` is no language: ``""``."""
    code = tag.strip().removeprefix("<|").removesuffix("|>")
    return "" if code == "nospeech" else code


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
    check_tokens_cover(tokens, ints["vocab_size"], model)


class SenseVoiceRecognizer:
    """One sherpa-onnx ``OfflineRecognizer``, created once; ``recognize`` is not thread-safe."""

    def __init__(self, config: RecognizerConfig, folder: AsrFolder | None = None) -> None:
        self.config = config
        folder = folder or inspect_folder(config.model_dir)
        if folder.kind != "sensevoice":
            raise GlassesError(f"{folder.root} holds a {folder.kind} model, not SenseVoice")
        model, tokens = folder.parts["model"], folder.tokens
        sherpa = require("sherpa_onnx", "asr", purpose="speech recognition")
        check_sensevoice_files(model, tokens)
        language = "" if config.language == "auto" else config.language
        if language and language not in LANGUAGES:
            raise GlassesError(
                f"SenseVoice knows {', '.join(LANGUAGES)} (or auto), not {config.language!r}"
            )
        try:
            self._recognizer: Any = sherpa.OfflineRecognizer.from_sense_voice(
                model=str(model),
                tokens=str(tokens),
                num_threads=config.num_threads,
                provider=config.provider,
                language=language,
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
