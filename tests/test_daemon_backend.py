"""Which language model the daemon builds from its settings: local, remote, or remote first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from glasses.errors import GlassesError
from glasses.llm.backend import LocalBackend
from glasses.llm.remote import RemoteBackend
from glasses.llm.router import FallbackBackend
from glasses.runtime.parts import Parts, add_backend, add_recognizer
from glasses.settings import build_settings

pytestmark = pytest.mark.model

REMOTE = {"url": "http://127.0.0.1:9/v1", "model": "Qwen/Qwen3-8B"}


def test_no_remote_means_the_local_engine(llm_zoo: dict[str, Any]) -> None:
    parts = Parts()
    add_backend(build_settings({"llm": {"model": str(llm_zoo["optimum-qwen2-fp32"].path)}}), parts)
    assert isinstance(parts.backend, LocalBackend)
    assert parts.backend.source == "local"


def test_remote_with_a_local_model_is_routed_remote_first(
    llm_zoo: dict[str, Any], llm_engine: Callable[[str], Any]
) -> None:
    settings = build_settings(
        {
            "llm": {"model": str(llm_zoo["optimum-qwen2-fp32"].path)},
            "remote": {**REMOTE, "first_token_budget_s": 0.5},
        }
    )
    parts = Parts()
    add_backend(settings, parts)
    assert isinstance(parts.backend, FallbackBackend)
    assert parts.backend.config.first_token_budget_s == 0.5
    assert isinstance(parts.backend.remote, RemoteBackend)
    assert isinstance(parts.backend.local, LocalBackend)


@pytest.mark.fast
def test_remote_without_a_local_model_is_used_alone() -> None:
    parts = Parts()
    add_backend(build_settings({"llm": {"model": ""}, "remote": REMOTE}), parts)
    assert isinstance(parts.backend, RemoteBackend)
    assert any("remote endpoint" in note for note in parts.notes)


@pytest.mark.fast
def test_a_bad_remote_url_names_the_key() -> None:
    with pytest.raises(GlassesError, match=r"remote\.url"):
        add_backend(
            build_settings({"llm": {"model": ""}, "remote": {"url": "gpu-box:8000"}}), Parts()
        )


@pytest.fixture(scope="module")
def sensevoice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sherpa_onnx")
    from asr_support.tiny_sensevoice import build_tiny_sensevoice

    return Path(build_tiny_sensevoice(tmp_path_factory.mktemp("asr") / "sensevoice"))


@pytest.mark.parametrize(
    ("spinning", "with_asr", "spins"),
    [("auto", True, "0"), ("auto", False, "1"), ("on", True, "1"), ("off", False, "0")],
)
def test_llm_spinning_reaches_the_session_and_auto_yields_to_speech(
    llm_zoo: dict[str, Any], sensevoice_dir: Path, spinning: str, with_asr: bool, spins: str
) -> None:
    """Issue 14: the model's spinning threads held both cores and doubled ASR decodes; with
    speech recognition on the CPU, ``llm.spinning = auto`` creates the session without it."""
    settings = build_settings(
        {
            "llm": {"model": str(llm_zoo["optimum-qwen2-fp32"].path), "spinning": spinning},
            "asr": {"model_dir": str(sensevoice_dir), "threads": 1},
        }
    )
    parts = Parts()
    if with_asr:
        add_recognizer(settings, parts)
        assert parts.providers.get("asr") == "cpu", parts.notes
    add_backend(settings, parts)
    assert isinstance(parts.backend, LocalBackend), parts.notes
    engine = parts.backend.engine
    assert engine.session_config_entry("session.intra_op.allow_spinning") == spins
    assert engine.session_config_entry("session.inter_op.allow_spinning") == spins
    with pytest.raises(KeyError, match=r"no config entry 'session\.nonexistent'"):
        engine.session_config_entry("session.nonexistent")
