"""RemoteBackend against ``glasses serve`` itself (a real server on 127.0.0.1), plus the
failure cases: typed errors, never a silently short answer, bounded memory, a secret key."""

from __future__ import annotations

import logging
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from serve_support import KEY, ScriptedEngine, SilentServer, chat_servers, free_port

from glasses.llm import CancelToken, ChatMessage, GenerationOptions, SamplingConfig
from glasses.llm.remote import (
    RemoteAuthError,
    RemoteBackend,
    RemoteConfig,
    RemoteError,
    RemoteProtocolError,
    RemoteRequestError,
    RemoteTimeoutError,
    RemoteUnavailableError,
)
from glasses.openai_wire.sse import SseDecoder, SseFormatError, encode_event
from glasses.server import ChatServer

pytestmark = pytest.mark.network

CHAT = [ChatMessage("system", "Be brief."), ChatMessage("user", "Read the sign: 出口")]
GREEDY = GenerationOptions(max_new_tokens=10, sampling=SamplingConfig(greedy=True))
WAIT_S = 10.0  # upper bound only: every wait returns as soon as its condition holds


@pytest.fixture
def serve() -> Iterator[Callable[..., ChatServer]]:
    with chat_servers() as start:
        yield start


def remote(base_url: str, **config: Any) -> RemoteBackend:
    return RemoteBackend(RemoteConfig(base_url=base_url, model="tiny", api_key=KEY, **config))


@pytest.mark.model
def test_remote_answer_equals_the_engine(
    serve: Callable[..., ChatServer], llm_engine: Callable[[str], Any]
) -> None:
    pytest.importorskip("onnxruntime")
    engine = llm_engine("genai-qwen2-int4")
    backend = remote(serve(engine).base_url)
    assert backend.source == "remote" and backend.probe()
    assert "".join(backend.stream_chat(CHAT, GREEDY)) == engine.generate(CHAT, GREEDY).text
    want = engine.generate(CHAT, GenerationOptions(max_new_tokens=3, sampling=GREEDY.sampling))
    options = GenerationOptions(max_new_tokens=3, sampling=GREEDY.sampling)
    assert "".join(backend.stream_chat(CHAT, options)) == want.text


def test_key_from_environment_and_never_shown(
    serve: Callable[..., ChatServer],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = serve(ScriptedEngine())
    monkeypatch.setenv("GLASSES_REMOTE_API_KEY", KEY)
    from_env = RemoteBackend(RemoteConfig(base_url=server.base_url, model="tiny"))
    assert "".join(from_env.stream_chat(CHAT)) == "Hello, world"
    assert KEY not in repr(from_env) and KEY not in repr(from_env.config)
    monkeypatch.setenv("GLASSES_REMOTE_API_KEY", KEY[::-1])
    with pytest.raises(RemoteAuthError) as info:
        list(from_env.stream_chat(CHAT))
    assert not from_env.probe()
    assert KEY not in str(info.value) and KEY[::-1] not in str(info.value)
    assert KEY not in caplog.text and KEY[::-1] not in caplog.text


def test_unreachable_and_wrong_path_are_typed() -> None:
    # A refused connection is reported as such, not waited out as a timeout (an hour here).
    closed = remote(f"http://127.0.0.1:{free_port()}/v1", connect_timeout_s=3600.0)
    with pytest.raises(RemoteUnavailableError, match="cannot connect") as info:
        list(closed.stream_chat(CHAT))
    assert not isinstance(info.value, RemoteTimeoutError)
    assert not remote(f"http://127.0.0.1:{free_port()}/v1").probe()
    with pytest.raises(ValueError, match="api_key"):
        remote("http://user:secret@127.0.0.1:1/v1")


def test_server_errors_and_wrong_routes(serve: Callable[..., ChatServer]) -> None:
    server = serve(ScriptedEngine(fail_at=1))
    with pytest.raises(RemoteUnavailableError, match="failed mid-answer"):
        list(remote(server.base_url).stream_chat(CHAT))
    with pytest.raises(RemoteRequestError, match="404"):
        list(remote(server.base_url.removesuffix("/v1") + "/nope").stream_chat(CHAT))


def test_server_gone_mid_answer_is_an_error(serve: Callable[..., ChatServer]) -> None:
    engine = ScriptedEngine(block_at=1)
    server = serve(engine)
    stream = remote(server.base_url).stream_chat(CHAT)
    assert next(stream) == "Hello"
    server.close()  # cuts the connection while the answer is open
    with pytest.raises(RemoteUnavailableError):
        list(stream)


def test_silence_times_out_and_cancel_is_prompt(serve: Callable[..., ChatServer]) -> None:
    engine = ScriptedEngine(block_at=0)
    server = serve(engine)
    with pytest.raises(RemoteTimeoutError, match=r"no data for 0\.3 s"):  # the limit configured
        list(remote(server.base_url, read_timeout_s=0.3).stream_chat(CHAT))
    assert engine.cancelled.wait(WAIT_S)  # the server noticed its client left

    # An hour's read timeout: once the answer is stuck, only the cancel can end the wait.
    engine = ScriptedEngine(block_at=0)
    patient = remote(serve(engine).base_url, read_timeout_s=3600.0)
    cancel = CancelToken()
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(lambda: list(patient.stream_chat(CHAT, cancel=cancel)))
        assert engine.blocked.wait(WAIT_S)
        cancel.cancel()
        assert answer.result(timeout=WAIT_S) == []
    assert engine.cancelled.wait(WAIT_S)


def test_endless_line_is_refused_with_bounded_memory() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: "
    bomb = SilentServer(head, then=b"a" * 65536, repeat_then=True)
    tracemalloc.start()
    try:
        with pytest.raises(RemoteProtocolError, match="longer than"):
            list(remote(bomb.base_url, max_line_bytes=100_000).stream_chat(CHAT))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        bomb.close()
    assert peak < 2_000_000, peak  # the limit, a read chunk and the stub's 64 kB writes
    not_sse = SilentServer(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>")
    try:
        with pytest.raises(RemoteProtocolError, match="not a stream"):
            list(remote(not_sse.base_url).stream_chat(CHAT))
    finally:
        not_sse.close()


@pytest.mark.fast
def test_sse_decoder_splits_anywhere() -> None:
    wire = (
        encode_event({"a": "中文"})
        + b": keep-alive\r\n\r\n"
        + b"data: x\r\ndata: y\r\n\r\n"
        + b"data:z\r\r"
        + encode_event("[DONE]")
    )
    want = ['{"a": "中文"}', "x\ny", "z", "[DONE]"]
    for size in (1, 2, 3, 7, len(wire)):
        decoder = SseDecoder(max_line_bytes=100, max_event_bytes=100)
        got = [e for i in range(0, len(wire), size) for e in decoder.feed(wire[i : i + size])]
        assert got == want, size
    decoder = SseDecoder(max_line_bytes=100, max_event_bytes=10)
    with pytest.raises(SseFormatError, match="event is larger"):
        decoder.feed(b"data: 123456\ndata: 123456\n")
    assert issubclass(RemoteProtocolError, RemoteError)
