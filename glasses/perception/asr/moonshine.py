"""Moonshine through sherpa-onnx: small, fast, English only.

Moonshine's encoder cost grows with the audio it is given rather than with a fixed 30 s
window, so re-decoding a growing utterance for partials stays cheap; on a Pi it is the
low-latency choice for English captions.  sherpa-onnx reads no metadata from these graphs and
answers a graph with the wrong inputs by logging and returning empty text, so the four graphs
are checked against each other before loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np

from glasses.errors import GlassesError
from glasses.extras import require
from glasses.onnx_wire.metadata import graph_io
from glasses.perception.asr.folders import AsrFolder, inspect_folder, token_ids
from glasses.perception.asr.recognition import Recognition, RecognizerConfig
from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray

PULL_HINT: Final = "glasses models pull moonshine-tiny"
LANGUAGE: Final = "en"
# inputs, outputs of each graph before the key/value caches (which come after, in pairs)
_SHAPES: Final = {
    "preprocessor": (1, 1),  # audio -> features
    "encoder": (2, 1),  # features, features_len -> encoder_out
    "uncached_decoder": (3, 1),  # tokens, encoder_out, seq_len -> logits, caches...
    "cached_decoder": (3, 1),  # tokens, encoder_out, seq_len, caches... -> logits, caches...
}


def check_moonshine_graphs(parts: dict[str, Path]) -> int:
    """The number of key/value cache tensors, or an error naming the graph that does not fit."""
    io: dict[str, tuple[list[str], list[str]]] = {}
    for part, path in parts.items():
        try:
            io[part] = graph_io(path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise GlassesError(
                f"cannot load Moonshine: {path} is not a readable ONNX file ({exc}); "
                f"download it again ({PULL_HINT})"
            ) from exc
    for part in ("preprocessor", "encoder"):
        inputs, outputs = io[part]
        if (len(inputs), len(outputs)) != _SHAPES[part]:
            raise GlassesError(
                f"{parts[part]} is not a Moonshine {part}: it takes {len(inputs)} inputs and "
                f"gives {len(outputs)} outputs, expected {_SHAPES[part][0]} and "
                f"{_SHAPES[part][1]} ({PULL_HINT})"
            )
    caches = len(io["uncached_decoder"][1]) - 1
    cached_in, cached_out = io["cached_decoder"]
    if (
        len(io["uncached_decoder"][0]) != 3
        or caches < 1
        or len(cached_in) != 3 + caches
        or len(cached_out) != 1 + caches
    ):
        raise GlassesError(
            f"the Moonshine decoders in {parts['cached_decoder'].parent} do not belong together "
            f"(the uncached one gives {caches} caches, the cached one takes "
            f"{len(cached_in) - 3} and gives {len(cached_out) - 1}): mixed model sizes? "
            f"Download the folder again ({PULL_HINT})"
        )
    return caches


class MoonshineRecognizer:
    """One sherpa-onnx ``OfflineRecognizer`` for a Moonshine folder; not thread-safe."""

    def __init__(self, config: RecognizerConfig, folder: AsrFolder | None = None) -> None:
        folder = folder or inspect_folder(config.model_dir)
        if folder.kind != "moonshine":
            raise GlassesError(f"{folder.root} holds a {folder.kind} model, not Moonshine")
        if config.language not in ("auto", LANGUAGE):
            raise GlassesError(
                f"Moonshine recognises English only, not {config.language!r}: set "
                "asr.language to auto or en, or use a SenseVoice model for other languages"
            )
        self.config = config
        sherpa = require("sherpa_onnx", "asr", purpose="speech recognition")
        check_moonshine_graphs(dict(folder.parts))
        if not token_ids(folder.tokens):
            raise GlassesError(f"{folder.tokens} is empty ({PULL_HINT})")
        try:
            self._recognizer: Any = sherpa.OfflineRecognizer.from_moonshine(
                preprocessor=str(folder.parts["preprocessor"]),
                encoder=str(folder.parts["encoder"]),
                uncached_decoder=str(folder.parts["uncached_decoder"]),
                cached_decoder=str(folder.parts["cached_decoder"]),
                tokens=str(folder.tokens),
                num_threads=config.num_threads,
                provider=config.provider,
            )
        except Exception as exc:  # sherpa raises RuntimeError on files it cannot load
            raise GlassesError(f"cannot load Moonshine from {folder.root}: {exc}") from exc

    def recognize(self, samples: FloatArray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> Recognition:
        stream = self._recognizer.create_stream()
        stream.accept_waveform(sample_rate_hz, np.ascontiguousarray(samples, dtype=np.float32))
        self._recognizer.decode_stream(stream)
        text = str(stream.result.text).strip()
        return Recognition(text, LANGUAGE if text else "")
