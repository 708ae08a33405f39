"""Helpers of the tests of the daemon's wiring (glasses/runtime): what stages sent, waited on
without sleeping, and a stand-in daemon behind the ``glasses mode`` control socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from glasses.display.views import Mode
from glasses.pipeline.messages import Intent, Message, SetMode, UserInput
from glasses.runtime.control_socket import ControlServer, DaemonControls

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


class FakeDaemon:
    """Records what is routed and switches at once, like a controller with nothing queued: a
    LOOK lands in Read, any other input goes to the next enabled mode."""

    def __init__(self, enabled: tuple[Mode, ...]) -> None:
        self.state = "running"
        self.controller = SimpleNamespace(order=enabled, mode=enabled[0], inputs=0)
        self.routed: list[Message] = []

    async def route(self, msg: Message) -> None:
        self.routed.append(msg)
        c = self.controller
        if isinstance(msg, SetMode):
            c.mode = msg.mode
        elif isinstance(msg, UserInput):
            c.inputs += 1
            if msg.intent is Intent.LOOK:
                c.mode = Mode.READ
            else:
                c.mode = c.order[(c.order.index(c.mode) + 1) % len(c.order)]


ASK_NOW_S = 7.0  # the control server's clock in ask(): the time stamped on routed inputs


def ask(daemon: FakeDaemon, line: bytes) -> dict[str, Any]:
    """The control server's reply to one request ``line``, without a socket."""
    server = ControlServer(Path("/nonexistent"), DaemonControls(daemon, lambda: ASK_NOW_S))
    reply: dict[str, Any] = asyncio.run(server.handle(line))
    return reply
