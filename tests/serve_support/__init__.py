"""Helpers of the serve / remote / router tests: a scripted engine and a silent TCP server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from glasses.llm import (
    CancelToken,
    ChatMessage,
    GenerationOptions,
    GenerationResult,
    LlmError,
    SamplingConfig,
    TextStream,
    Timings,
)
from glasses.server import ChatServer, ServerConfig

KEY = "sk-test-7f3a9c1e5b"  # distinctive, so a leak into logs or messages is easy to spot


class ScriptedEngine:
    """Stands in for LlmEngine where timing matters: yields ``deltas``; before delta
    ``block_at`` it waits for :attr:`release` (or the request's cancellation); before delta
    ``fail_at`` it raises."""

    default_sampling = SamplingConfig(greedy=True)

    def __init__(
        self,
        deltas: Sequence[str] = ("Hello", ", ", "world"),
        *,
        block_at: int | None = None,
        fail_at: int | None = None,
    ) -> None:
        self.deltas = tuple(deltas)
        self.block_at, self.fail_at = block_at, fail_at
        self.started = threading.Event()  # a generation began
        self.blocked = threading.Event()  # it reached block_at
        self.release = threading.Event()
        self.cancelled = threading.Event()  # its CancelToken fired while blocked
        self.requests: list[tuple[tuple[ChatMessage, ...], GenerationOptions | None]] = []

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> TextStream:
        self.requests.append((tuple(messages), options))
        token = cancel or CancelToken()
        result = GenerationResult()
        return TextStream(self._run(token, result), result)

    def _run(self, cancel: CancelToken, result: GenerationResult) -> Iterator[str]:
        self.started.set()
        for i, delta in enumerate(self.deltas):
            if i == self.block_at:
                self.blocked.set()
                while not self.release.wait(0.01):
                    if cancel.cancelled:
                        self.cancelled.set()
                        result.finish_reason = "cancelled"
                        return
            if i == self.fail_at:
                raise LlmError("the scripted engine failed")
            result.text += delta
            result.token_ids.append(i)
            yield delta
        result.finish_reason = "eos"
        result.timings = Timings(3, 0, len(result.token_ids), 0.0, 0.0, 0.0)


class SilentServer:
    """Accepts TCP connections and never answers (a remote that is up but far too slow), or
    sends ``reply`` and then keeps the connection open."""

    def __init__(self, reply: bytes = b"", *, then: bytes = b"", repeat_then: bool = False) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._reply, self._then, self._repeat = reply, then, repeat_then
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                conn, _ = self._sock.accept()
                self._conns.append(conn)
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.recv(65536)
            if self._reply:
                conn.sendall(self._reply)
            while self._then and not self._stop.is_set():
                conn.sendall(self._then)
                if not self._repeat:
                    break
            self._stop.wait()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


def free_port() -> int:
    """A port nothing listens on (connections are refused)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def chat_servers() -> Iterator[Callable[..., ChatServer]]:
    """``start(engine, **config)``: a started :class:`ChatServer` on a free port that wants
    :data:`KEY`, with ``config`` for the rest of its :class:`ServerConfig`; all that were
    started are closed on exit."""
    servers: list[ChatServer] = []

    def start(engine: Any, **config: Any) -> ChatServer:
        servers.append(ChatServer(engine, ServerConfig(port=0, api_key=KEY, **config)).start())
        return servers[-1]

    yield start
    for server in servers:
        server.close()
