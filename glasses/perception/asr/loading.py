"""Find the speech model to use and open the recogniser its folder calls for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from glasses.perception.asr.folders import inspect_folder
from glasses.perception.asr.moonshine import MoonshineRecognizer
from glasses.perception.asr.recognition import Recognizer, RecognizerConfig, StreamingRecognizer
from glasses.perception.asr.sensevoice import SenseVoiceRecognizer
from glasses.perception.asr.transducer import StreamingTransducerRecognizer

MODEL_ENV: Final = "GLASSES_SENSEVOICE_DIR"
# Pulled models tried, in order, when none is configured: the multilingual default first.
DEFAULT_MODELS: Final = ("sensevoice", "moonshine-tiny", "zipformer-zh-en")


def default_model_dir() -> Path | None:
    """``$GLASSES_SENSEVOICE_DIR``, else the first of :data:`DEFAULT_MODELS` that was pulled."""
    value = os.environ.get(MODEL_ENV, "").strip()
    if value:
        return Path(value)
    from glasses.models.store import installed_model_dir

    for name in DEFAULT_MODELS:
        try:
            found = installed_model_dir(name)
        except ImportError:  # platformdirs locates the store when $GLASSES_MODELS_DIR is unset
            return None
        if found is not None:
            return found
    return None


def load_recognizer(config: RecognizerConfig) -> Recognizer | StreamingRecognizer:
    """The recogniser for the model in ``config.model_dir``, whichever kind it is.

    Raises :class:`~glasses.errors.GlassesError` naming what is wrong with the folder, and
    :class:`~glasses.extras.MissingExtraError` without the ``asr`` extra.
    """
    folder = inspect_folder(config.model_dir)
    if folder.kind == "moonshine":
        return MoonshineRecognizer(config, folder)
    if folder.kind == "transducer":
        return StreamingTransducerRecognizer(config, folder)
    return SenseVoiceRecognizer(config, folder)
