"""Whether the microphone should be open: the power stage sets it, the microphone task obeys.

Closed (the glasses were taken off), the microphone task closes its source (PortAudio stops,
so do the resampling thread, the VAD and the recogniser: nothing reaches them), ends the
stream with ``AudioEnded`` (an open utterance is finished) and waits; opened again, it reopens
the source as a new stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ListenGate:
    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._on_close: list[Callable[[], None]] = []
        self.source_opened_s: float | None = None  # set by the microphone task: wake-up timing

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def set(self, open_: bool) -> None:
        if open_:
            self._open.set()
        elif self._open.is_set():
            self._open.clear()
            for stop in self._on_close:
                stop()

    async def wait_open(self) -> None:
        await self._open.wait()

    def watch(self, stop: Callable[[], None]) -> Callable[[], None]:
        """Call ``stop`` when the gate closes (until the returned function is called)."""
        self._on_close.append(stop)
        return lambda: self._on_close.remove(stop)
