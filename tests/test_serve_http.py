"""The server's HTTP edges, with raw http.client: auth, body limits, bad requests, the bounded
queue, cancellation on client disconnect; plus ``glasses serve`` run as a real process."""

from __future__ import annotations

import contextlib
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
from glasses.openai_wire.errors import ApiError
from glasses.server import ChatServer, ServerConfig
from glasses.server.request import parse_chat_request

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parent.parent
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def request(
    server: ChatServer,
    method: str,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request; the headers answered are looked up case-insensitively."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    sent = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    conn.request(method, path, body=data, headers={**sent, **(headers or {})})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, response.headers, payload


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
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
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


@pytest.mark.fast
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


@pytest.mark.model
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


SLOW_HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "


class Tricklers:
    """``count`` connections that each send ``head`` and then one more byte every 0.5 s (a
    slow-loris), from one thread, until :meth:`close`."""

    def __init__(self, port: int, count: int, head: bytes = SLOW_HEAD, byte: bytes = b"a") -> None:
        self.socks = [
            socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)
        ]
        self._byte = byte
        self._stop = threading.Event()
        for sock in self.socks:
            sock.sendall(head)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for sock in self.socks:
                with contextlib.suppress(OSError):  # the server closed it: the deadline at work
                    sock.send(self._byte)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.socks:
            sock.close()


def read_until_closed(sock: socket.socket) -> bytes:
    """What the server sends before it closes the connection (the socket's timeout bounds it)."""
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def still_open(sock: socket.socket) -> bool:
    """The server has neither closed nor reset ``sock`` (looked at without waiting)."""
    timeout_s = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True  # nothing to read, no end of stream
    except OSError:
        return False
    finally:
        sock.settimeout(timeout_s)


def test_slow_loris_neither_blocks_others_nor_outlasts_the_deadline(
    serve: Callable[..., ChatServer],
) -> None:
    # A minute's deadline: other clients are answered while all 200 slow ones still hold
    # their connections, however busy the machine is.
    patient = serve(ScriptedEngine(), request_timeout_s=60.0)
    slow = Tricklers(patient.port, 200)
    try:
        for method, path, body in (
            ("GET", "/v1/models", None),
            ("POST", "/v1/chat/completions", CHAT),
        ):
            assert request(patient, method, path, body)[0] == 200, path
        assert all(still_open(sock) for sock in slow.socks)  # none was cut to make room
    finally:
        slow.close()
    server = serve(ScriptedEngine(), request_timeout_s=0.5)
    slow = Tricklers(server.port, 1)
    # Headers in, body trickling: the body counts against the same deadline (408).
    length = json.dumps(CHAT).encode()
    body_head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(length)}\r\n\r\n".encode()
    )
    slow_body = Tricklers(server.port, 1, body_head, b" ")
    try:
        # Both kinds are cut off at the 0.5 s deadline: without it, the sockets' own 10 s
        # timeout would end these reads with an error.
        assert read_until_closed(slow.socks[0]) == b""
        answer = read_until_closed(slow_body.socks[0])
        assert answer.startswith(b"HTTP/1.1 408 ") and b"connection: close" in answer.lower()
    finally:
        slow.close()
        slow_body.close()


def test_connection_limit_is_configurable(serve: Callable[..., ChatServer]) -> None:
    server = serve(ScriptedEngine(), max_connections=3)
    slow = Tricklers(server.port, 3)
    try:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            request(server, "GET", "/v1/models")
    finally:
        slow.close()
    # The limit counts open connections: once they are gone, requests are served again.
    deadline = time.monotonic() + 5
    while True:
        try:
            assert request(server, "GET", "/v1/models")[0] == 200
            break
        except (http.client.RemoteDisconnected, ConnectionError):
            assert time.monotonic() < deadline  # the server has not yet seen them close
            time.sleep(0.05)


def test_browser_rules(serve: Callable[..., ChatServer]) -> None:
    server = serve(ScriptedEngine())
    # DNS rebinding: a page at evil.example re-pointed at 127.0.0.1 sends its own Host.
    status, _, payload = request(server, "GET", "/v1/models", headers={"Host": "evil.example"})
    assert status == 403 and error_of(payload)["code"] == "forbidden_host"
    for origin in ("http://evil.example", "null"):
        status, _, payload = request(
            server, "POST", "/v1/chat/completions", CHAT, {"Origin": origin}
        )
        assert status == 403 and error_of(payload)["code"] == "forbidden_origin"
    status, _, _ = request(
        server, "POST", "/v1/chat/completions", CHAT, {"Content-Type": "text/plain"}
    )
    assert status == 415  # a form or text/plain POST needs no CORS preflight: refused
    same = {"Origin": f"http://127.0.0.1:{server.port}", "Host": f"127.0.0.1:{server.port}"}
    assert request(server, "POST", "/v1/chat/completions", CHAT, same)[0] == 200
    assert request(server, "GET", "/v1/models", headers={"Host": "localhost"})[0] == 200


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (b"[" * 100_000 + b"]" * 100_000, None),  # RecursionError in the parser
        (b'{"seed": 1' + b"0" * 5000 + b"}", None),  # past int's digit limit (ValueError)
        (b'{"repetition_penalty": NaN}', None),
        (b'{"repetition_penalty": Infinity}', None),
        (b'{"temperature": -Infinity}', None),
        (b'{"repetition_penalty": 1e999}', "repetition_penalty"),  # inf without the word
        (b'{"repetition_penalty": 0}', "repetition_penalty"),
        (b'{"seed": -5}', "seed"),
        (b'{"seed": 9223372036854775808}', "seed"),  # 2**63
        (b'{"seed": 1.5}', "seed"),
        (b'{"temperature": 1e999}', "temperature"),
        (b'{"top_p": 1e-400}', "top_p"),  # underflows to 0
        (b'{"top_k": 100000000000000000000000000000}', "top_k"),
        (b'{"frequency_penalty": 1e999}', "frequency_penalty"),
        (b'{"max_tokens": 100000000000000000000000000000}', "max_tokens"),
        (b'{"n": 100000000000000000000000000000}', "n"),
    ],
)
def test_hostile_numbers_and_nesting_are_400(
    serve: Callable[..., ChatServer], raw: bytes, param: str | None
) -> None:
    engine = ScriptedEngine()
    server = serve(engine)
    if raw.startswith(b"{"):  # the field joins an otherwise good request
        raw = json.dumps(CHAT).encode()[:-1] + b", " + raw[1:]
    status, _, payload = request(server, "POST", "/v1/chat/completions", raw)
    assert status == 400, payload[:200]
    error = error_of(payload)
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert engine.requests == []
    # The connection and the server are fine afterwards.
    assert request(server, "GET", "/v1/models")[0] == 200


@pytest.mark.fast
def test_without_the_serve_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from glasses.cli import main
    from glasses.extras import MissingExtraError, pip_install

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    import glasses.server

    with pytest.raises(MissingExtraError, match=re.escape(pip_install("serve"))):
        glasses.server.ChatServer  # noqa: B018
    assert main(["serve", "--model", "no-such-model"]) == 2


@pytest.mark.fast
def test_serve_limits_come_from_the_command_line() -> None:
    from glasses.cli import build_parser
    from glasses.commands.serve import server_config
    from glasses.errors import GlassesError

    argv = ["serve", "--model", "m", "--max-connections", "7", "--request-timeout", "2.5"]
    config = server_config(build_parser().parse_args(argv))
    assert (config.max_connections, config.request_timeout_s) == (7, 2.5)
    for bad in (["--max-connections", "0"], ["--request-timeout", "nan"]):
        with pytest.raises(GlassesError, match="bad server settings"):
            server_config(build_parser().parse_args(["serve", "--model", "m", *bad]))


def test_a_client_that_stops_reading_frees_the_engine(serve: Callable[..., ChatServer]) -> None:
    class Endless(ScriptedEngine):
        def _run(self, cancel: Any, result: Any) -> Iterator[str]:
            try:
                while not cancel.cancelled:
                    yield "x" * 4096
            finally:
                self.release.set()  # the generation has ended

    engine = Endless()
    server = serve(engine, write_timeout_s=0.5)
    sock = socket.create_connection(("127.0.0.1", server.port))
    body = json.dumps({**CHAT, "stream": True}).encode()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        + f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )  # ... and never read: the answer backs up until the server's writes stall
    try:
        assert engine.release.wait(10), "a client that reads nothing held the engine"
    finally:
        sock.close()
