"""The server object: the ASGI application on uvicorn (the ``serve`` extra), startable in a
thread (tests, the daemon) or in the foreground (``glasses serve``), and closable with
requests in flight."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from glasses.server.admission import EngineGate
from glasses.server.asgi import ChatApp, ServedEngine
from glasses.server.config import ServerConfig
from glasses.server.protocol import guarded_protocol

log = logging.getLogger(__name__)


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: ChatApp) -> None:
        super().__init__(config)
        self.chat_app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop generations first: uvicorn would wait for them (up to its graceful timeout).
        self.chat_app.close()
        await super().shutdown(sockets)


class ChatServer:
    """``ChatServer(engine, config).start()`` serves in a thread; ``close()`` stops it, cancels
    running generations and ends open answers (clients see the stream end without
    ``[DONE]``).  The port is bound on construction (``OSError`` if taken)."""

    def __init__(self, engine: ServedEngine, config: ServerConfig | None = None) -> None:
        self.engine = engine
        self.config = config or ServerConfig()
        self.created = int(time.time())
        self.app = ChatApp(engine, self.config, self.created)
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        self._sock = socket.create_server(
            (self.config.host, self.config.port), family=family, backlog=1024
        )
        uv_config = uvicorn.Config(
            self.app,
            http=guarded_protocol(self.config),
            interface="asgi3",
            lifespan="off",
            log_config=None,  # our logging setup stays; uvicorn logs through its own loggers
            access_log=False,  # never a request's headers (the key) in a log
            proxy_headers=False,
            server_header=False,
            limit_concurrency=self.config.max_connections,
            timeout_keep_alive=self.config.keep_alive_s,
            timeout_graceful_shutdown=5,
            h11_max_incomplete_event_size=self.config.max_header_bytes,
        )
        self._server = _Uvicorn(uv_config, self.app)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def gate(self) -> EngineGate:
        """The engine's admission queue (its ``waiting`` count is what tests watch)."""
        return self.app.gate

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def base_url(self) -> str:
        """What clients use as ``base_url``: ``http://HOST:PORT/v1``."""
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    def serve_forever(self) -> None:
        """Serves until :meth:`close`, or (in the main thread) SIGINT / SIGTERM, which uvicorn
        catches, shuts down on and raises again once it has stopped."""
        log.info("serving %s on %s", self.config.model_id, self.base_url)
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self.app.shutdown_threads()

    def start(self) -> ChatServer:
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
        loop = self._server.loop
        if loop is not None and not loop.is_closed():
            # Stop generations now (uvicorn notices should_exit within 0.1 s); a RuntimeError
            # means the loop has just closed.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.app.close)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
