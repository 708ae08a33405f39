"""The server's HTTP edges, with raw http.client: auth, body limits, bad requests, the bounded
queue, cancellation on client disconnect; plus ``glasses serve`` run as a real process."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from serve_support import KEY, ScriptedEngine, chat_servers

from glasses.llm import ContextOverflowError, SamplingConfig
from glasses.server import ChatServer, ServerConfig
from glasses.server.request import ApiError, parse_chat_request

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel

ROOT = Path(__file__).resolve().parent.parent
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def request(
    server: ChatServer,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    conn.request(
        method, path, body=data, headers={"Authorization": f"Bearer {KEY}", **(headers or {})}
    )
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), payload


@pytest.fixture
def serve() -> Iterator[Callable[..., ChatServer]]:
    with chat_servers() as start:
        yield start


def error_of(payload: bytes) -> dict[str, Any]:
    error = json.loads(payload)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return dict(error)


def test_auth_routes_and_body_limits(serve: Callable[..., ChatServer]) -> None:
    server = serve(ScriptedEngine(), max_body_bytes=2000)
    status, headers, payload = request(server, "GET", "/v1/models", headers={"Authorization": ""})
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert error_of(payload)["code"] == "invalid_api_key"
    assert request(server, "GET", "/v1/models")[0] == 200
    # Refused before its body was read: the connection closes, so the body is never parsed.
    status, headers, _ = request(
        server, "POST", "/v1/chat/completions", CHAT, {"Authorization": ""}
    )
    assert status == 401 and headers["Connection"] == "close"
    assert request(server, "GET", "/v1/nothing")[0] == 404
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
    assert request(server, "POST", "/v1/chat/completions", big)[0] == 413
    status, _, payload = request(server, "POST", "/v1/chat/completions", b"{not json")
    assert status == 400 and "JSON" in error_of(payload)["message"]
    status, _, payload = request(server, "POST", "/v1/chat/completions", {"messages": []})
    assert status == 400 and error_of(payload)["param"] == "messages"


def test_busy_engine_queues_then_refuses(serve: Callable[..., ChatServer]) -> None:
    engine = ScriptedEngine(block_at=1)
    server = serve(engine, max_queue=1)
    results: list[int] = []

    def call() -> None:
        results.append(request(server, "POST", "/v1/chat/completions", CHAT)[0])

    first = threading.Thread(target=call)
    first.start()
    assert engine.blocked.wait(5)
    second = threading.Thread(target=call)  # waits in the queue
    second.start()
    deadline = time.monotonic() + 5
    while server.gate.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    status, headers, payload = request(server, "POST", "/v1/chat/completions", CHAT)
    assert status == 503 and headers["Retry-After"] == "1"
    assert error_of(payload)["type"] == "server_error"
    engine.release.set()
    first.join(5)
    second.join(5)
    assert results == [200, 200]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_client_disconnect_cancels_generation(
    serve: Callable[..., ChatServer], stream: bool
) -> None:
    engine = ScriptedEngine(block_at=1)
    server = serve(engine)
    sock = socket.create_connection(("127.0.0.1", server.port))
    body = json.dumps({**CHAT, "stream": stream}).encode()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    assert engine.blocked.wait(5)
    sock.close()
    assert engine.cancelled.wait(2), "the generation went on for a client that left"


def test_engine_errors_are_reported(serve: Callable[..., ChatServer]) -> None:
    class Overflowing(ScriptedEngine):
        def stream(self, *args: Any, **kwargs: Any) -> Any:
            raise ContextOverflowError("the prompt is 5000 tokens but the context holds 2048")

    status, _, payload = request(serve(Overflowing()), "POST", "/v1/chat/completions", CHAT)
    assert status == 400 and error_of(payload)["code"] == "context_length_exceeded"
    failing = serve(ScriptedEngine(fail_at=1))
    status, _, payload = request(failing, "POST", "/v1/chat/completions", CHAT)
    assert status == 500 and "failed" in error_of(payload)["message"]
    status, _, payload = request(failing, "POST", "/v1/chat/completions", {**CHAT, "stream": True})
    events = [line[6:] for line in payload.decode().splitlines() if line.startswith("data: ")]
    assert status == 200 and "[DONE]" not in events  # the client must not take it as complete
    assert "error" in json.loads(events[-1])


def test_request_parsing() -> None:
    config = ServerConfig()
    defaults = SamplingConfig(temperature=0.7, top_p=0.8)

    def parse(**body: Any) -> Any:
        return parse_chat_request(json.dumps({**CHAT, **body}).encode(), defaults, config)

    req = parse(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            },
        ],
        stop="END",
        seed=3,
        chat_template_kwargs={"enable_thinking": True},
    )
    assert [(m.role, m.content) for m in req.messages] == [("system", "Be brief."), ("user", "ab")]
    assert req.options.stop_strings == ("END",) and req.options.enable_thinking
    assert req.options.sampling == SamplingConfig(temperature=0.7, top_p=0.8, seed=3)
    assert parse().options.sampling == defaults  # no sampling fields: the model's defaults
    assert parse(temperature=0).options.sampling.greedy
    assert parse(max_tokens=7, max_completion_tokens=5).options.max_new_tokens == 5
    for bad in (
        {"max_tokens": True},
        {"max_tokens": 10**6},
        {"stop": ["a", "b", "c", "d", "e"]},
        {"tools": [{"type": "function"}]},
        {"messages": [{"role": "tool", "content": "x"}]},
        {"top_p": 0},
        {"presence_penalty": 1},
        {"response_format": {"type": "json_object"}},
    ):
        with pytest.raises(ApiError) as info:
            parse(**bad)
        assert info.value.status == 400, bad


def test_glasses_serve_command(llm_zoo: dict[str, BuiltModel]) -> None:
    """The CLI as a process: port 0, key from the environment, SIGTERM stops it cleanly."""
    model = llm_zoo["genai-qwen3-int4"].path
    env = {**os.environ, "GLASSES_API_KEY": KEY}
    argv = [
        sys.executable,
        "-m",
        "glasses.cli",
        "-v",
        "serve",
        "--model",
        str(model),
        "--port",
        "0",
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:(\d+)/v1) \(key required\)", line)
        assert match, line
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(2)), timeout=10)
        conn.request("GET", "/v1/models", headers={"Authorization": f"Bearer {KEY}"})
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert KEY not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
