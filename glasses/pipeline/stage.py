"""A processing stage: reads its inbox one message at a time and sends what it makes of it.

A stage has exactly one override point, :meth:`Stage.process`, an async generator: for each
input message it yields output messages in order, awaiting blocking work on a
:class:`~glasses.pipeline.worker.Worker`. Where the outputs go is the daemon's business (the
``send`` callable routes them by type), so stages read like short filters.

An exception escaping ``process`` is a bug: it ends the stage, and with it the daemon, loudly.
Expected failures (a model error, a lost device) become messages instead.
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

from glasses.pipeline.channel import Channel
from glasses.pipeline.messages import Message
from glasses.pipeline.metrics import Metrics

In = TypeVar("In")
Send = Callable[[Message], Awaitable[None]]
Clock = Callable[[], float]


class Stage(abc.ABC, Generic[In]):
    """One long-lived task: ``inbox`` -> :meth:`process` -> ``send``."""

    def __init__(
        self,
        name: str,
        inbox: Channel[In],
        send: Send,
        *,
        metrics: Metrics | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.name = name
        self.inbox = inbox
        self.send = send
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.busy = False
        self.handled = 0
        self.waited_s = 0.0
        """Time :meth:`process` spent waiting on something else (the display waits for an
        unplugged link): left out of the ``stage.<name>`` figure."""

    @abc.abstractmethod
    def process(self, msg: In) -> AsyncGenerator[Message, None]:
        """What this stage makes of ``msg``, in order (the one override point)."""

    async def run(self) -> None:
        while True:
            msg = await self.inbox.get()
            self.busy = True
            started, self.waited_s = self.clock(), 0.0
            try:
                async with contextlib.aclosing(self.process(msg)) as outputs:
                    async for out in outputs:
                        await self.send(out)
            finally:
                self.busy = False
                self.handled += 1
                own_s = max(0.0, self.clock() - started - self.waited_s)
                self.metrics.observe_ms(f"stage.{self.name}", own_s * 1000)

    @property
    def idle(self) -> bool:
        return not self.busy and self.inbox.empty()

    # -- shutdown: the daemon calls both on every stage, in this order ----------------------

    def cancel_running(self) -> None:
        """Before the stage's task is cancelled: make work now running on a worker thread end
        soon (a generation stops at its next token), so that thread stops with the rest.
        Default: nothing to cancel."""

    def close_now(self) -> None:
        """After the stage's task ended: let go of what the stage holds (a camera) without
        waiting for work still on its worker thread (the process is about to end anyway).
        Default: nothing held."""
