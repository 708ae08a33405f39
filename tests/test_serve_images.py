"""Pictures over the OpenAI wire: ``glasses serve`` with the tiny Qwen2-VL takes ``image_url``
parts with data: URLs (the real ``openai`` client sends them) and answers as the engine does;
http(s) URLs, bad base64, non-pictures and oversized pictures are 400s naming the fault; the
remote backend sends the daemon's JPEG the same way, and the router falls back to the local
vision model when the server is gone."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_support import KEY, ScriptedEngine, free_port

from glasses.llm import ChatMessage, GenerationOptions, SamplingConfig
from glasses.llm.backend import LocalBackend
from glasses.llm.remote import RemoteBackend, RemoteConfig
from glasses.llm.router import FallbackBackend
from glasses.llm.vision import VisionLlmEngine
from glasses.server import ChatServer, ServerConfig

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.model

GREEDY = GenerationOptions(max_new_tokens=8, sampling=SamplingConfig(greedy=True))


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (96, 64)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def data_url(data: bytes, kind: str = "image/jpeg") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def user(url: str, text: str = "What is this?") -> list[dict[str, Any]]:
    image = {"type": "image_url", "image_url": {"url": url}}
    return [{"role": "user", "content": [image, {"type": "text", "text": text}]}]


@pytest.fixture(scope="module")
def engine(vlm_folder: Path) -> VisionLlmEngine:
    return VisionLlmEngine.load(vlm_folder)


@pytest.fixture(scope="module")
def server(engine: VisionLlmEngine) -> Iterator[ChatServer]:
    config = ServerConfig(port=0, api_key=KEY, model_id="tiny-vl", max_image_pixels=640 * 480)
    with ChatServer(engine, config) as srv:
        yield srv


@pytest.fixture
def client(server: ChatServer) -> Any:
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=60)


def local_text(engine: VisionLlmEngine, picture: bytes) -> str:
    messages = [ChatMessage("user", "What is this?", images=(picture,))]
    return str(engine.generate(messages, GREEDY).text)


def test_a_picture_in_a_data_url_is_answered_as_the_engine_answers(
    client: Any, engine: VisionLlmEngine
) -> None:
    red, blue = jpeg((220, 30, 30)), jpeg((30, 30, 220))
    answers = {}
    for name, picture in (("red", red), ("blue", blue)):
        reply = client.chat.completions.create(
            model="tiny-vl", messages=user(data_url(picture)), max_tokens=8, temperature=0
        )
        answers[name] = reply.choices[0].message.content
        assert answers[name] == local_text(engine, picture)
    assert answers["red"] != answers["blue"]  # the picture reached the model


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://example.com/cat.jpg", "image URLs are not fetched"),
        ("http://127.0.0.1:1/x.jpg", "image URLs are not fetched"),
        ("data:image/jpeg;base64,@@not base64@@", "base64 does not decode"),
        (data_url(b"plain text, not a picture"), "cannot be decoded"),
        (data_url(jpeg((0, 0, 0), (800, 600))), "over 307200 pixels"),
        ("file:///etc/passwd", "must be a data:image/...;base64"),
    ],
)
def test_bad_pictures_are_400_naming_the_fault(client: Any, url: str, reason: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="tiny-vl", messages=user(url), max_tokens=2)
    assert info.value.status_code == 400 and reason in str(info.value)


def test_a_text_only_engine_refuses_pictures_with_400() -> None:
    with ChatServer(ScriptedEngine(), ServerConfig(port=0)) as srv:
        plain = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0, timeout=30)
        with pytest.raises(openai.BadRequestError) as info:
            plain.chat.completions.create(
                model="m", messages=user(data_url(jpeg((1, 2, 3)))), max_tokens=2
            )
    assert "reads no pictures" in str(info.value)


def test_the_remote_backend_sends_the_picture_and_falls_back_to_the_local_model(
    server: ChatServer, engine: VisionLlmEngine
) -> None:
    picture = jpeg((20, 160, 40))
    messages = [ChatMessage("user", "What is this?", images=(picture,))]
    config = RemoteConfig(base_url=server.base_url, model="tiny-vl", api_key=KEY, images=True)
    remote = RemoteBackend(config)
    assert remote.accepts_images
    assert "".join(remote.stream_chat(messages, GREEDY)) == local_text(engine, picture)
    gone = RemoteConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", images=True)
    router = FallbackBackend(RemoteBackend(gone), LocalBackend(engine))
    assert router.accepts_images
    assert "".join(router.stream_chat(messages, GREEDY)) == local_text(engine, picture)
    assert router.source == "local"
