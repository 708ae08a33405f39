"""The server object: a threading HTTP server around one engine, startable in a thread (tests,
the daemon) or in the foreground (``glasses serve``), and closable with requests in flight."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.server.admission import EngineGate
from glasses.server.config import ServerConfig
from glasses.server.handler import ApiHandler

if TYPE_CHECKING:
    from glasses.llm.engine import TextStream

log = logging.getLogger(__name__)


class ServedEngine(Protocol):
    """What the server needs of :class:`glasses.llm.LlmEngine` (tests substitute fakes)."""

    @property
    def default_sampling(self) -> SamplingConfig: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> TextStream: ...


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must not keep the process alive
    block_on_close = False  # close() ends connections itself

    def __init__(self, app: ChatServer, address: tuple[str, int]) -> None:
        self.app = app
        bound = {"app": app, "timeout": app.config.read_timeout_s}
        handler = type("BoundApiHandler", (ApiHandler,), bound)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.app.admit(request):
            self.shutdown_request(request)  # over the connection limit: refuse at once
            return
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a client vanishing is routine, not news.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("connection from %s dropped: %s", client_address[0], exc)
        else:
            log.exception("error serving %s", client_address[0])

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.app.release(request)


class ChatServer:
    """``ChatServer(engine, config).start()`` serves in a thread; ``close()`` stops it, cancels
    running generations and cuts open connections (clients see the stream end without
    ``[DONE]``)."""

    def __init__(self, engine: ServedEngine, config: ServerConfig | None = None) -> None:
        self.engine = engine
        self.config = config or ServerConfig()
        self.gate = EngineGate(self.config.max_queue)
        self.created = int(time.time())
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._cancels: set[CancelToken] = set()
        self._thread: threading.Thread | None = None
        self._served = False
        self._closed = False
        self._httpd = _HttpServer(self, (self.config.host, self.config.port))

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What clients use as ``base_url``: ``http://HOST:PORT/v1``."""
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    def admit(self, conn: socket.socket) -> bool:
        with self._lock:
            if self._closed or len(self._connections) >= self.config.max_connections:
                return False
            self._connections.add(conn)
            return True

    def release(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    @contextlib.contextmanager
    def active(self, cancel: CancelToken) -> Iterator[None]:
        """Registers a request's token so :meth:`close` can stop its generation."""
        with self._lock:
            if self._closed:
                cancel.cancel()
            self._cancels.add(cancel)
        try:
            yield
        finally:
            with self._lock:
                self._cancels.discard(cancel)

    def serve_forever(self) -> None:
        self._served = True
        log.info("serving %s on %s", self.config.model_id, self.base_url)
        self._httpd.serve_forever(poll_interval=0.2)

    def start(self) -> ChatServer:
        self._served = True  # before the thread runs: close() may come first
        self._thread = threading.Thread(
            target=self.serve_forever, name="glasses-serve", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            cancels, conns = list(self._cancels), list(self._connections)
        if self._served:
            self._httpd.shutdown()  # returns once the accept loop has stopped
        for cancel in cancels:
            cancel.cancel()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
