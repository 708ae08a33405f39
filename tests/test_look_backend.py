"""Which backend LOOK's pictures reach (``glasses.runtime.vision_backend.add_vision``): with
``look.model`` beside a remote-first text model, pictures go to the vision model, through the
remote first only when ``remote.images`` says the remote reads them; with no vision model but a
remote that reads pictures, a remote that is down leaves LOOK reading the picture's text."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from modes_support import FakeLayout, effects

from glasses.display.views import LlmSource, Mode, PageView
from glasses.llm.backend import LocalBackend, accepts_images
from glasses.llm.chat_template import ChatMessage
from glasses.llm.errors import TextOnlyModelError
from glasses.llm.picture_route import PictureRouter
from glasses.llm.remote import RemoteBackend, RemoteConfig
from glasses.llm.router import FallbackBackend
from glasses.llm.vision import VisionLlmEngine
from glasses.modes.base import ModeContext, ModeOptions
from glasses.modes.controller import Controller
from glasses.modes.look import NO_VISION
from glasses.modes.prompts import look_messages, look_text_messages
from glasses.pipeline.messages import (
    CaptureRequest,
    Intent,
    LlmDelta,
    LlmDone,
    LlmRequest,
    StillImage,
    UserInput,
)
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


class DownRemote:
    """A remote that reads pictures (``remote.images`` on) and is down."""

    source = "remote"
    accepts_images = True

    def stream_chat(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        raise ConnectionError("cannot connect to the remote")

    def probe(self, timeout_s: float | None = None) -> bool:
        return False


class TextOnlyModel:
    """The local text model: refuses pictures as the engine does, answers text chats."""

    source = "local"

    def __init__(self) -> None:
        self.asked: list[tuple[ChatMessage, ...]] = []

    def stream_chat(self, messages: Sequence[ChatMessage], *args: Any) -> Iterator[str]:
        if any(m.images for m in messages):
            raise TextOnlyModelError("tiny is a text-only model and cannot look at pictures")
        self.asked.append(tuple(messages))
        yield from ("A pack ", "of tea.")


class Ocr:
    """Reads the same text in every picture; keeps the pictures it was given."""

    def __init__(self) -> None:
        self.images: list[Any] = []

    def recognize(self, image: Any) -> Any:
        self.images.append(image)
        return SimpleNamespace(text=" Oolong tea 250 g\n", lines=())


def red_jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (255, 0, 0)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.fast
def test_a_remote_that_looks_is_down_and_no_local_vision_model_look_reads_the_text() -> None:
    """remote.images on, no look.model, a text-only llm.model, the remote down: LOOK's picture
    is read (OCR) and the text model answers about its text, said as without any vision model,
    not "(no answer: ... text-only model ...)"."""
    settings = load_settings(overrides=[f"remote.url={URL}", "remote.images=true"])
    local, ocr = TextOnlyModel(), Ocr()
    parts = Parts(backend=FallbackBackend(DownRemote(), local), camera=lambda: None, ocr=ocr)  # type: ignore[arg-type, return-value]
    add_vision(settings, parts)
    backend = parts.backend
    assert backend is not None and accepts_images(backend) and not parts.notes
    ctx = ModeContext(FakeLayout(300), ModeOptions(), has_vision=accepts_images(backend))
    c = Controller(ctx, (Mode.CAPTIONS, Mode.READ), Mode.CAPTIONS, LlmSource.REMOTE)
    (capture,) = effects(c, UserInput(Intent.LOOK, at_s=1.0))
    assert isinstance(capture, CaptureRequest) and capture.purpose == "look"
    (request,) = effects(c, StillImage(capture.request_id, red_jpeg()))
    assert isinstance(request, LlmRequest) and request.messages[-1].images

    deltas = list(backend.stream_chat(request.messages))  # as the generate stage runs it
    effects(c, *(LlmDelta(request.request_id, d) for d in deltas))
    effects(c, LlmDone(request.request_id, "".join(deltas), source=backend.source))
    assert c.screen is not None and isinstance(c.screen.body, PageView)
    shown = " ".join(c.screen.body.lines)
    assert shown == f"({NO_VISION}) A pack of tea."  # as test_modes_look's no-vision path
    prompt = ModeOptions().look_prompt
    assert local.asked == [look_text_messages(prompt, "Oolong tea 250 g", 200)]
    (image,) = ocr.images  # the picture looked at, decoded to BGR as a camera frame is
    assert image.shape == (48, 64, 3) and image[24, 32, 2] > 200 and image[24, 32, 0] < 60

    # A spoken question asks again about the same picture: read once; text chats pass through.
    again = look_messages("Is it vegetarian?", red_jpeg(), 200, spoken=True)
    assert "".join(backend.stream_chat(again)).startswith(f"({NO_VISION})\n")
    assert len(ocr.images) == 1 and "Oolong tea 250 g" in local.asked[-1][-1].content
    assert "".join(backend.stream_chat([ChatMessage("user", "hi")])) == "A pack of tea."
