"""Real speech models, when present: each recognises synthesised English through the pipeline.

Weights cannot ship with the tests, so each test here runs only when its model folder is named
by an environment variable (or was pulled into the model store) and skips with a reason
otherwise.  Everything around the models is tested with the tiny folders of
``tests/asr_support`` in the other ``test_perception_asr*`` modules.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from perception_support.speech import phrase, silence, two_phrases

from glasses.perception.asr import RecognizerConfig, inspect_folder, load_recognizer
from glasses.perception.transcriber import Transcript, transcriber_for

pytestmark = pytest.mark.model

MODELS = {  # registry name -> (environment variable, kind)
    "sensevoice": ("GLASSES_SENSEVOICE_DIR", "sensevoice"),
    "moonshine-tiny": ("GLASSES_MOONSHINE_DIR", "moonshine"),
    "zipformer-zh-en": ("GLASSES_ZIPFORMER_DIR", "transducer"),
}


def real_model(name: str) -> Path:
    env, kind = MODELS[name]
    value = os.environ.get(env, "").strip()
    folder: Path | None = Path(value) if value else None
    if folder is None:
        from glasses.models.store import installed_model_dir

        try:
            folder = installed_model_dir(name)
        except ImportError:
            folder = None
    if folder is None:
        pytest.skip(
            f"no {name} model: set {env} to its folder (glasses models pull {name}) to run "
            "the real recognition test"
        )
    pytest.importorskip("sherpa_onnx")
    assert inspect_folder(folder).kind == kind, f"{env}={folder} is not a {kind} model"
    return folder


@pytest.mark.parametrize("name", list(MODELS))
def test_a_real_model_recognises_synthesised_english(name: str) -> None:
    recognizer = load_recognizer(RecognizerConfig(real_model(name)))
    heard = recognizer.recognize(
        np.concatenate([silence(0.3), phrase("Hello, how are you today?"), silence(0.3)])
    )
    assert heard.language == "en"
    assert "how are you" in heard.text.lower()


@pytest.mark.parametrize("name", list(MODELS))
def test_a_real_model_transcribes_each_utterance_through_the_vad(name: str) -> None:
    from glasses.perception.speech import SpeechPipeline
    from glasses.sources.audio import AudioChunk

    recognizer = load_recognizer(RecognizerConfig(real_model(name)))
    audio = two_phrases()
    pipeline = SpeechPipeline(transcriber=transcriber_for(recognizer))
    chunks = [AudioChunk(audio[i : i + 320], i) for i in range(0, len(audio), 320)]
    events = [e for e in pipeline.run(chunks) if isinstance(e, Transcript)]
    finals = [e.text.lower() for e in events if e.is_final]
    assert len(finals) == 2
    assert "turn left" in finals[0] and "thank you" in finals[1]
    partials = [e for e in events if not e.is_final]
    assert partials and all(p.text.startswith(p.stable) for p in partials)
