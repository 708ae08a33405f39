"""Which language model the daemon builds from its settings: local, remote, or remote first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glasses.errors import GlassesError
from glasses.llm.backend import LocalBackend
from glasses.llm.remote import RemoteBackend
from glasses.llm.router import FallbackBackend
from glasses.runtime.parts import Parts, add_backend
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
