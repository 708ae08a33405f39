"""Blocking work (models, devices) off the event loop: one daemon thread per worker.

Each model gets its own worker, so models are never called from two threads at once and the
event loop never blocks. Worker threads are daemon threads: a model call that cannot be
interrupted (an OCR pass) does not hold up the process at shutdown.

:meth:`Worker.stream` runs an iterator in the thread (a microphone, an LLM generation) and hands
its items to the loop through a bounded queue: when the consumer falls behind, the thread waits
(backpressure, nothing dropped).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_POLL_S: Final = 0.1  # how often a thread blocked on a full hand-over checks for shutdown


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


class Worker:
    """Runs jobs in order on one daemon thread named ``glasses-<name>``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=f"glasses-{name}", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the worker thread; its exception is raised here."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the awaiting coroutine, not lost
                future.set_exception(exc)

        self._jobs.put(job)
        return await asyncio.wrap_future(future)

    async def stream(
        self, make: Callable[[], Iterator[T]], capacity: int = 16
    ) -> AsyncGenerator[T, None]:
        """Items of ``make()`` iterated on the worker thread; its exception is raised here."""
        loop = asyncio.get_running_loop()
        # The queue is bounded by ``slots``: a thread blocks on a semaphore, never on the loop.
        handover: asyncio.Queue[T | _End] = asyncio.Queue()
        slots = threading.Semaphore(capacity)
        stop = threading.Event()

        def deliver(item: T | _End) -> None:
            while not slots.acquire(timeout=_POLL_S):
                if stop.is_set():
                    return
            try:
                loop.call_soon_threadsafe(handover.put_nowait, item)
            except RuntimeError:  # the loop has closed (shutdown): nobody is listening
                stop.set()

        def job() -> None:
            iterator = None
            try:
                iterator = make()
                for item in iterator:
                    if stop.is_set():
                        break
                    deliver(item)
            except BaseException as exc:
                deliver(_End(exc))
            else:
                deliver(_End())
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()

        self._jobs.put(job)
        try:
            while True:
                item = await handover.get()
                slots.release()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            stop.set()

    def close(self) -> None:
        """Stop after the jobs already queued (does not wait for them)."""
        self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except BaseException:  # pragma: no cover - jobs catch their own errors
                log.exception("worker %s: job failed", self.name)
