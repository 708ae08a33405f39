"""``glasses serve`` driven by the real third-party ``openai`` client, on a tiny test model:
streaming text equals non-streaming text equals the engine's own greedy text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from serve_support import KEY

from glasses.llm import ChatMessage, GenerationOptions, SamplingConfig
from glasses.server import ChatServer, ServerConfig

openai = pytest.importorskip("openai")
pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.model

MODEL_KEY = "genai-qwen3-int4"
MESSAGES = [
    {"role": "system", "content": "You are brief."},
    {"role": "user", "content": "What does the sign say? 这个标志写的是什么？"},
]


@pytest.fixture(scope="module")
def engine(llm_engine: Callable[[str], Any]) -> Any:
    return llm_engine(MODEL_KEY)


@pytest.fixture(scope="module")
def server(engine: Any) -> Iterator[ChatServer]:
    with ChatServer(engine, ServerConfig(port=0, api_key=KEY, model_id="tiny")) as srv:
        yield srv


@pytest.fixture
def client(server: ChatServer) -> Any:
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=30)


def engine_greedy(engine: Any, max_tokens: int, stop: tuple[str, ...] = ()) -> str:
    messages = [ChatMessage(m["role"], m["content"]) for m in MESSAGES]
    options = GenerationOptions(
        max_new_tokens=max_tokens, sampling=SamplingConfig(greedy=True), stop_strings=stop
    )
    return str(engine.generate(messages, options).text)


def test_streaming_equals_whole_equals_engine(client: Any, engine: Any) -> None:
    whole = client.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=12, temperature=0
    )
    assert whole.object == "chat.completion" and whole.model == "tiny"
    choice = whole.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "length"
    assert whole.usage.completion_tokens == 12
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + 12

    chunks = list(
        client.chat.completions.create(
            model="tiny",
            messages=MESSAGES,
            max_completion_tokens=12,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12
    assert len({c.id for c in chunks}) == 1

    assert text == choice.message.content == engine_greedy(engine, 12)
    assert text


def test_stop_strings_and_seeded_sampling(client: Any, engine: Any) -> None:
    full = engine_greedy(engine, 16)
    stop = full[len(full) // 2 : len(full) // 2 + 2]
    stopped = client.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=16, temperature=0, stop=[stop]
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == engine_greedy(engine, 16, (stop,))
    assert stop not in stopped.choices[0].message.content

    def sample(seed: int) -> str:
        reply = client.chat.completions.create(
            model="tiny", messages=MESSAGES, max_tokens=8, temperature=0.9, top_p=0.95, seed=seed
        )
        return str(reply.choices[0].message.content)

    assert sample(7) == sample(7)


def test_models_and_auth(server: ChatServer, client: Any) -> None:
    assert [m.id for m in client.models.list().data] == ["tiny"]
    for key in ("wrong-key", ""):
        bad = openai.OpenAI(base_url=server.base_url, api_key=key or "x", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as info:
            bad.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=2)
        assert info.value.status_code == 401
        assert KEY not in str(info.value)


def test_bad_requests_are_400_with_a_reason(client: Any) -> None:
    cases: list[dict[str, Any]] = [
        {"temperature": 3},
        {"max_tokens": 0},
        {"n": 2},
        {"messages": [{"role": "assistant", "content": "hi"}]},
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
    ]
    for extra in cases:
        request: dict[str, Any] = {"model": "tiny", "messages": MESSAGES, **extra}
        with pytest.raises(openai.BadRequestError) as info:
            client.chat.completions.create(**request)
        assert info.value.status_code == 400
        assert info.value.body["message"]
