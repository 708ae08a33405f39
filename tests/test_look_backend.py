"""Which backend LOOK's pictures reach (``glasses.runtime.vision_backend.add_vision``): with
``look.model`` beside a remote-first text model, pictures go to the vision model, through the
remote first only when ``remote.images`` says the remote reads them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glasses.llm.backend import LocalBackend
from glasses.llm.picture_route import PictureRouter
from glasses.llm.remote import RemoteBackend, RemoteConfig
from glasses.llm.router import FallbackBackend
from glasses.llm.vision import VisionLlmEngine
from glasses.runtime.parts import Parts
from glasses.runtime.vision_backend import add_vision
from glasses.settings import load_settings

pytestmark = pytest.mark.model

URL = "http://127.0.0.1:9/v1"  # never contacted: only the wiring is checked


class TextModel:
    """The local text model's backend (reads no pictures)."""

    source = "local"

    def stream_chat(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        yield "text"


@pytest.mark.parametrize("images", [True, False])
def test_look_model_beside_a_remote_first_text_model(vlm_folder: Path, images: bool) -> None:
    flag = "true" if images else "false"
    overrides = [f"look.model={vlm_folder}", f"remote.url={URL}", f"remote.images={flag}"]
    settings = load_settings(overrides=overrides)
    remote = RemoteBackend(RemoteConfig(base_url=URL, model="m", images=images))
    text = FallbackBackend(remote, TextModel())
    parts = Parts(backend=text)
    add_vision(settings, parts)
    router = parts.backend
    assert isinstance(router, PictureRouter) and router.text is text and not parts.notes
    vision = router.vision
    if images:  # the remote first, the local vision model when it fails
        assert isinstance(vision, FallbackBackend) and vision.remote is remote
        vision = vision.local
    assert isinstance(vision, LocalBackend) and isinstance(vision.engine, VisionLlmEngine)
