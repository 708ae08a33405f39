"""Waiting for an event with a timeout, without losing a cancellation.

``asyncio.wait_for(event.wait(), timeout)`` before Python 3.12 returns normally when the event
is set in the same loop turn as the waiting task is cancelled: the cancellation is lost, and a
loop such as the status file's ``while True`` never ends (``glasses demo`` hung in ``stop()``
that way). ``asyncio.wait`` leaves the cancellation alone.
"""

from __future__ import annotations

import asyncio


async def event_or_timeout(event: asyncio.Event, timeout_s: float | None) -> bool:
    """True once ``event`` is set, False after ``timeout_s`` (None: no timeout); a cancellation
    of the caller is raised, never swallowed."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout_s)
    finally:
        if not waiter.done():
            waiter.cancel()
    return bool(done)
