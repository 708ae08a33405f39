"""Bounded channels between stages, each with a stated policy for when it is full.

* ``BLOCK``: lossless; the sender waits for room (backpressure). Used where every message
  matters: audio (never dropped inside an utterance, or anywhere), transcripts, button presses.
* ``KEEP_NEWEST``: the oldest queued message is dropped and counted. Used where only the latest
  matters: camera frames, screens (the display shows the newest), LLM requests (a newer
  question replaces one still waiting).

Channels live on the event loop's thread; threads hand messages over through
:class:`~glasses.pipeline.worker.Worker`.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class Overflow(str, enum.Enum):
    BLOCK = "block"
    KEEP_NEWEST = "keep_newest"


@dataclass(frozen=True)
class ChannelStats:
    name: str
    capacity: int
    overflow: Overflow
    queued: int
    sent: int
    dropped: int
    high_water: int

    def as_dict(self) -> dict[str, object]:
        return {
            "capacity": self.capacity,
            "overflow": self.overflow.value,
            "queued": self.queued,
            "sent": self.sent,
            "dropped": self.dropped,
            "high_water": self.high_water,
        }


class Channel(Generic[T]):
    """A FIFO of at most ``capacity`` messages with an :class:`Overflow` policy."""

    def __init__(self, name: str, capacity: int, overflow: Overflow) -> None:
        if capacity < 1:
            raise ValueError(f"channel {name}: capacity must be at least 1, got {capacity}")
        self.name = name
        self.capacity = capacity
        self.overflow = overflow
        self._queue: asyncio.Queue[T] = asyncio.Queue(capacity)
        self._sent = 0
        self._dropped = 0
        self._high_water = 0

    async def put(self, item: T) -> None:
        """Queue ``item``: waits for room (BLOCK) or drops the oldest (KEEP_NEWEST)."""
        if self.overflow is Overflow.BLOCK:
            await self._queue.put(item)
            self._count()
        else:
            self.put_nowait(item)

    def put_nowait(self, item: T) -> bool:
        """Queue without waiting; False (nothing queued) if a BLOCK channel is full."""
        if self._queue.full():
            if self.overflow is Overflow.BLOCK:
                return False
            self._queue.get_nowait()
            self._dropped += 1
        self._queue.put_nowait(item)
        self._count()
        return True

    async def get(self) -> T:
        return await self._queue.get()

    def qsize(self) -> int:
        return self._queue.qsize()

    def empty(self) -> bool:
        return self._queue.empty()

    def stats(self) -> ChannelStats:
        return ChannelStats(
            self.name,
            self.capacity,
            self.overflow,
            self._queue.qsize(),
            self._sent,
            self._dropped,
            self._high_water,
        )

    def _count(self) -> None:
        self._sent += 1
        self._high_water = max(self._high_water, self._queue.qsize())
