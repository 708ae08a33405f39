"""The daemon on its own event loop in a background thread: how the demo, the benchmark and
the end-to-end tests drive it while they script the simulator from the calling thread.

Waiting is on conditions evaluated on the loop's thread (so they see consistent state), polled
with a deadline; nothing waits for a fixed time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, Protocol, TypeVar

from glasses.pipeline.messages import Message
from glasses.pipeline.stage import Stage

T = TypeVar("T")
POLL_S: Final = 0.01
IDLE_POLLS: Final = 3  # idle this many polls in a row: nothing was merely between two stages


class Runnable(Protocol):
    """What this thread needs of a daemon (``glasses.runtime.daemon.Daemon`` is one)."""

    @property
    def stages(self) -> Mapping[str, Stage[Any]]: ...

    async def run(self, stop: asyncio.Event) -> None: ...

    async def route(self, msg: Message) -> None: ...

    def idle(self) -> bool: ...


D = TypeVar("D", bound=Runnable)


class DaemonThread(Generic[D]):
    """Runs DAEMON; the waits' predicates get it with its own type (its controller, links)."""

    def __init__(self, daemon: D) -> None:
        self.daemon = daemon
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="glasses-daemon", daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._started.set()
            await self.daemon.run(self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:  # kept for the caller: stop() and the waits raise it
            self.error = exc
        finally:
            self._started.set()

    def start(self, timeout_s: float = 20.0) -> DaemonThread[D]:
        """Start, and wait until the display is connected and the first screen shown."""
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for the daemon's loop")
        self.wait_until(
            lambda d: d.stages.get("display") is not None and d.stages["display"].handled > 0,
            timeout_s,
            "the first screen",
        )
        return self

    def call(self, fn: Callable[[], T], timeout_s: float = 10.0) -> T:
        """``fn()`` on the loop's thread."""
        if self._loop is None or self.error is not None:
            raise RuntimeError(f"the daemon is not running: {self.error!r}")

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout_s)

    def post(self, msg: Message, timeout_s: float = 10.0) -> None:
        """Route ``msg`` as if a stage had sent it."""
        if self._loop is None:
            raise RuntimeError("the daemon is not running")
        asyncio.run_coroutine_threadsafe(self.daemon.route(msg), self._loop).result(timeout_s)

    def wait_until(self, predicate: Callable[[D], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.call(lambda: predicate(self.daemon)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
            time.sleep(POLL_S)

    def wait_idle(self, timeout_s: float = 20.0) -> None:
        """Until every queue is empty and no stage is working, several polls in a row."""
        streak = [0]

        def settled(d: D) -> bool:
            streak[0] = streak[0] + 1 if d.idle() else 0
            return streak[0] >= IDLE_POLLS

        self.wait_until(settled, timeout_s, "the pipeline to settle")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the daemon; raises what it failed with, if it did."""
        if self._thread.is_alive():
            self._started.wait(timeout_s)  # a loop still starting is stopped too, not missed
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(f"the daemon did not stop within {timeout_s:g} s")
        if self.error is not None:
            raise self.error
