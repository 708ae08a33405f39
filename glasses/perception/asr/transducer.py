"""Streaming zipformer transducers through sherpa-onnx: partials as the audio arrives.

A streaming transducer keeps its encoder state between chunks of audio, so the text grows
while someone speaks at the cost of one chunk's decode, not a re-decode of the utterance.
Greedy search never takes back a token it emitted, so a partial is always a prefix of the
final text.  The bilingual zh-en model reports no language; it is told from the script of
the text.  sherpa-onnx exits the process when metadata is missing, so it is checked first,
along with the graph's state count against that metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np

from glasses.errors import GlassesError
from glasses.extras import require
from glasses.onnx_wire.metadata import graph_io, onnx_metadata
from glasses.perception.asr.folders import AsrFolder, check_tokens_cover, inspect_folder
from glasses.perception.asr.recognition import (
    Recognition,
    RecognizerConfig,
    RecognizerStream,
    language_of,
)
from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray

PULL_HINT: Final = "glasses models pull zipformer-zh-en"
LANGUAGES: Final = ("zh", "en", "ja", "ko")
# Silence appended at the end so the encoder's last chunk (with its right context) is full.
TAIL_PADDING_S: Final = 0.66
_COMMON_KEYS: Final = (
    "encoder_dims",
    "num_encoder_layers",
    "cnn_module_kernels",
    "left_context_len",
    "T",
    "decode_chunk_len",
)
_ENCODER_KEYS: Final = {
    "zipformer": (*_COMMON_KEYS, "attention_dims"),
    "zipformer2": (*_COMMON_KEYS, "query_head_dims", "value_head_dims", "num_heads"),
}
_DECODER_KEYS: Final = ("vocab_size", "context_size")


def _ints(meta: Mapping[str, str], key: str, path: Path) -> list[int]:
    try:
        values = [int(v) for v in meta[key].split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise GlassesError(f"{path}: metadata {key}={meta[key]!r} is not a list of integers")
    return values


def expected_states(model_type: str, meta: Mapping[str, str], path: Path) -> int:
    """How many state tensors the encoder takes besides the features, from its metadata."""
    layers = _ints(meta, "num_encoder_layers", path)
    if model_type == "zipformer":  # 7 per encoder stack
        return 7 * len(layers)
    return 6 * sum(layers) + 2  # per layer, plus embed_states and processed_lens


def check_transducer_files(parts: Mapping[str, Path], tokens: Path) -> str:
    """The encoder's model type, or an error saying why sherpa-onnx could not use the files."""
    encoder, decoder, joiner = parts["encoder"], parts["decoder"], parts["joiner"]
    metas: dict[str, dict[str, str]] = {}
    ios: dict[str, tuple[list[str], list[str]]] = {}
    for name, path in parts.items():
        try:
            metas[name], ios[name] = onnx_metadata(path), graph_io(path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise GlassesError(
                f"cannot load the transducer: {path} is not a readable ONNX file ({exc}); "
                f"download it again ({PULL_HINT})"
            ) from exc
    model_type = metas["encoder"].get("model_type", "")
    if model_type not in _ENCODER_KEYS:
        what = f"model_type {model_type!r}" if model_type else "no model_type in its metadata"
        raise GlassesError(
            f"{encoder} is not a streaming zipformer encoder ({what}; glasses runs sherpa-onnx "
            f"zipformer and zipformer2 exports): {PULL_HINT}"
        )
    for path, meta, keys in (
        (encoder, metas["encoder"], _ENCODER_KEYS[model_type]),
        (decoder, metas["decoder"], _DECODER_KEYS),
    ):
        missing = [k for k in keys if not meta.get(k, "").strip()]
        if missing:
            raise GlassesError(
                f"{path}: its metadata has no {', '.join(missing)}, so sherpa-onnx cannot run "
                f"it (not a sherpa-onnx export?): {PULL_HINT}"
            )
        for key in keys:
            _ints(meta, key, path)
    states = expected_states(model_type, metas["encoder"], encoder)
    inputs, outputs = ios["encoder"]
    if len(inputs) != 1 + states or len(outputs) != 1 + states:
        raise GlassesError(
            f"{encoder} takes {len(inputs) - 1} state tensors and gives {len(outputs) - 1}, but "
            f"its metadata describes {states}: a damaged or mismatched export ({PULL_HINT})"
        )
    if len(ios["decoder"][0]) != 1 or len(ios["joiner"][0]) != 2:
        raise GlassesError(
            f"{decoder} and {joiner} are not a transducer's decoder (one input) and joiner "
            f"(two inputs) ({PULL_HINT})"
        )
    check_tokens_cover(tokens, _ints(metas["decoder"], "vocab_size", decoder)[0], decoder)
    return model_type


def tidy_case(text: str) -> str:
    """The bilingual model writes English in capitals (``HELLO WORLD``); captions read better
    in sentence case.  Text with any lower-case letter is left as the model wrote it."""
    if not any(c.isascii() and c.isupper() for c in text) or any(
        c.isascii() and c.islower() for c in text
    ):
        return text
    lowered = " ".join("I" if w == "I" else w.lower() for w in text.split(" "))
    for i, ch in enumerate(lowered):
        if ch.isalpha():
            return lowered[:i] + ch.upper() + lowered[i + 1 :] if ch.isascii() else lowered
    return lowered


class _TransducerStream:
    def __init__(self, owner: StreamingTransducerRecognizer, sample_rate_hz: int) -> None:
        self._owner = owner
        self._recognizer = owner._recognizer
        self._stream = self._recognizer.create_stream()
        self._rate = sample_rate_hz
        self._finished = False

    def accept(self, samples: FloatArray) -> Recognition:
        if self._finished:
            raise RuntimeError("the stream is finished; open a new one")
        data = np.ascontiguousarray(samples, dtype=np.float32)
        if len(data):
            self._stream.accept_waveform(self._rate, data)
            self._decode()
        return self._result()

    def finish(self) -> Recognition:
        if not self._finished:
            tail = np.zeros(round(TAIL_PADDING_S * self._rate), dtype=np.float32)
            self._stream.accept_waveform(self._rate, tail)
            self._stream.input_finished()
            self._finished = True
            self._decode()
        return self._result()

    def _decode(self) -> None:
        while self._recognizer.is_ready(self._stream):
            self._recognizer.decode_stream(self._stream)

    def _result(self) -> Recognition:
        text = tidy_case(str(self._recognizer.get_result(self._stream)).strip())
        return Recognition(text, self._owner.language_of(text))


class StreamingTransducerRecognizer:
    """One sherpa-onnx ``OnlineRecognizer``; its streams share it, so use one thread."""

    def __init__(self, config: RecognizerConfig, folder: AsrFolder | None = None) -> None:
        folder = folder or inspect_folder(config.model_dir)
        if folder.kind != "transducer":
            raise GlassesError(f"{folder.root} holds a {folder.kind} model, not a transducer")
        self.config = config
        sherpa = require("sherpa_onnx", "asr", purpose="speech recognition")
        self.model_type = check_transducer_files(folder.parts, folder.tokens)
        try:
            self._recognizer: Any = sherpa.OnlineRecognizer.from_transducer(
                tokens=str(folder.tokens),
                encoder=str(folder.parts["encoder"]),
                decoder=str(folder.parts["decoder"]),
                joiner=str(folder.parts["joiner"]),
                num_threads=config.num_threads,
                provider=config.provider,
                sample_rate=SAMPLE_RATE_HZ,
                feature_dim=80,
                decoding_method="greedy_search",
                enable_endpoint_detection=False,  # the VAD segmenter ends utterances
            )
        except Exception as exc:  # sherpa raises RuntimeError on files it cannot load
            raise GlassesError(f"cannot load the transducer in {folder.root}: {exc}") from exc

    def language_of(self, text: str) -> str:
        fallback = "" if self.config.language == "auto" else self.config.language
        return language_of(text, LANGUAGES, fallback if text else "")

    def open_stream(self, sample_rate_hz: int = SAMPLE_RATE_HZ) -> RecognizerStream:
        return _TransducerStream(self, sample_rate_hz)

    def recognize(self, samples: FloatArray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Recognition:
        stream = self.open_stream(sample_rate_hz)
        stream.accept(samples)
        return stream.finish()
