"""Helpers of the tests of the daemon's wiring (glasses/runtime): what stages sent, waited on
without sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from glasses.pipeline.messages import Message

T = TypeVar("T")
WAIT_S = 30.0  # a bound for a hung test, not a timing assertion


class Outbox:
    """What stages sent, with a wait for a condition on it (no sleeping)."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self._cond = asyncio.Condition()

    async def send(self, msg: Message) -> None:
        async with self._cond:
            self.sent.append(msg)
            self._cond.notify_all()

    async def until(self, predicate: Callable[[list[Message]], bool]) -> None:
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: predicate(self.sent)), WAIT_S)

    async def poll(self, predicate: Callable[[], bool]) -> None:
        """For state that sends nothing (a stage going idle): checked between loop turns."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while not predicate():
            assert loop.time() < deadline, "timed out"
            await asyncio.sleep(0.002)

    def of(self, kind: type[T]) -> list[T]:
        return [m for m in self.sent if isinstance(m, kind)]
