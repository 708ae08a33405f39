"""Who gets the engine next, on the server's event loop.

The engine runs one generation at a time.  :class:`EngineGate` lets a few requests wait for
it in arrival order and turns the rest away at once (503), so a burst cannot pile up prompts.
A waiting request leaves the queue when its client hangs up or the server stops
(``stop`` fires) or after ``timeout_s``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from glasses.openai_wire.errors import ApiError


class ClientGone(Exception):
    """The client disconnected (or the server stopped) before its answer: nobody to tell."""


def overloaded(message: str) -> ApiError:
    return ApiError(503, message, kind="server_error", code="server_overloaded")


class EngineGate:
    """One holder at a time, ``max_waiting`` behind it; only used on one event loop."""

    def __init__(self, max_waiting: int) -> None:
        self._max_waiting = max_waiting
        self._busy = False
        self._queue: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """Requests queued behind the running one."""
        return sum(not ticket.done() for ticket in self._queue)

    @asynccontextmanager
    async def turn(self, timeout_s: float, stop: asyncio.Event) -> AsyncIterator[None]:
        """Hold the engine for the ``async with`` body; raises 503 when the queue is full or
        the wait exceeds ``timeout_s``, :class:`ClientGone` when ``stop`` is set first."""
        if self._busy:
            if self.waiting >= self._max_waiting:
                raise overloaded("the model is busy with other requests; retry shortly")
            ticket = asyncio.get_running_loop().create_future()
            self._queue.append(ticket)
            try:
                await _wait(ticket, timeout_s, stop)
            except BaseException:
                if ticket.done() and not ticket.cancelled():
                    self._release()  # handed the engine as we gave up: pass it on
                else:
                    ticket.cancel()
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._queue:
            ticket = self._queue.popleft()
            if not ticket.done():
                ticket.set_result(None)  # the engine passes straight to the next in line
                return
        self._busy = False


async def _wait(ticket: asyncio.Future[None], timeout_s: float, stop: asyncio.Event) -> None:
    stopped: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    waits: set[asyncio.Future[Any]] = {ticket, stopped}
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when="FIRST_COMPLETED")
    finally:
        stopped.cancel()
    if ticket.done():
        return
    if stop.is_set():
        raise ClientGone
    raise overloaded("timed out waiting for the model; retry shortly")
