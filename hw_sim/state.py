"""The only meeting point of the I/O thread (which alone drives the device) and the HTTP
threads: a published copy of the state, and a bounded queue of commands run by the I/O thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware_bridge.protocol.pixels import Levels
from hw_sim.snapshots import png_bytes

Command = Callable[[float], object]  # run by the I/O thread with the simulator time


class BusyError(RuntimeError):
    """The command queue is full or the I/O thread did not answer in time."""


@dataclass
class _Call:
    fn: Command
    done: threading.Event = field(default_factory=threading.Event)
    result: object = None
    error: Exception | None = None


class Shared:
    def __init__(self, bpp: int, max_commands: int = 64) -> None:
        self.bpp = bpp
        self._lock = threading.Lock()
        self._state: dict[str, object] = {}
        self._front: Levels | None = None
        self._png: bytes | None = None
        self._screen_version = -1
        self._calls: queue.Queue[_Call] = queue.Queue(maxsize=max_commands)

    # -- I/O thread ----------------------------------------------------------------------

    def publish(self, state: dict[str, object], front: Levels | None, screen_version: int) -> None:
        """Replace the published state; ``front`` (a private copy) only if the screen changed."""
        with self._lock:
            self._state = state
            if front is not None:
                self._front, self._screen_version, self._png = front, screen_version, None

    def run_commands(self, now_s: float, limit: int = 16) -> None:
        for _ in range(limit):
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                call.result = call.fn(now_s)
            except Exception as exc:  # handed to the HTTP thread, which reports it
                call.error = exc
            call.done.set()

    # -- HTTP threads --------------------------------------------------------------------

    def state(self) -> dict[str, object]:
        with self._lock:
            return dict(self._state)

    def screen(self) -> tuple[Levels | None, int]:
        with self._lock:
            return self._front, self._screen_version

    def png(self) -> bytes | None:
        with self._lock:
            front, version, png = self._front, self._screen_version, self._png
        if front is None:
            return None
        if png is None:
            png = png_bytes(front, self.bpp)  # outside the lock: compression takes a while
            with self._lock:
                if self._screen_version == version:
                    self._png = png
        return png

    def call(self, fn: Command, timeout_s: float = 2.0) -> object:
        """Run ``fn`` on the I/O thread and return its result (re-raising its exception)."""
        call = _Call(fn)
        try:
            self._calls.put_nowait(call)
        except queue.Full:
            raise BusyError("too many commands waiting") from None
        if not call.done.wait(timeout_s):
            raise BusyError("the simulator did not answer in time")
        if call.error is not None:
            raise call.error
        return call.result
