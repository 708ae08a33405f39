"""uvicorn's h11 protocol with the limits it lacks on its own.

uvicorn times out idle keep-alive connections but nothing else: a fresh connection that sends
nothing, or its request line and headers a byte at a time, stays open for ever, and each counts
against ``limit_concurrency`` (so enough of them refuse everyone else).  Here each request's
head must be in within ``request_timeout_s`` of the connection's start (or of the previous
answer's end), else the connection is closed; the same deadline is handed to the application
in ``scope["extensions"]`` so that it bounds the body too.  Connections beyond
``max_connections`` are closed as they arrive.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from glasses.server.asgi import DEADLINE_EXTENSION
from glasses.server.config import ServerConfig


class GuardedH11Protocol(H11Protocol):
    glasses_config: ServerConfig  # set by :func:`guarded_protocol`'s subclass

    _deadline = 0.0
    _timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self.glasses_config.max_connections:
            self.transport.close()  # over the limit: refuse at once, before any read
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle and self.cycle is not None:  # a request head came in
            self._disarm()
            self.cycle.scope.setdefault("extensions", {})[DEADLINE_EXTENSION] = {
                "at": self._deadline
            }

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request's head is due within the deadline too

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.time() + self.glasses_config.request_timeout_s
        self._timer = self.loop.call_at(self._deadline, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.debug("closing a connection whose request did not arrive in time")
            self.transport.close()


def guarded_protocol(config: ServerConfig) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn's ``http=``, bound to ``config``."""
    return type("GlassesH11Protocol", (GuardedH11Protocol,), {"glasses_config": config})
