"""``event_or_timeout``: a wait on an event that never loses its task's cancellation (before
Python 3.12, ``asyncio.wait_for`` did when the event was set in the same loop turn)."""

from __future__ import annotations

import asyncio

import pytest

from glasses.pipeline.waits import event_or_timeout

pytestmark = pytest.mark.fast


def test_set_then_timeout() -> None:
    async def main() -> tuple[bool, bool]:
        event = asyncio.Event()
        asyncio.get_running_loop().call_soon(event.set)
        first = await event_or_timeout(event, None)
        event.clear()
        return first, await event_or_timeout(event, 0.0)

    assert asyncio.run(main()) == (True, False)


def test_a_cancel_in_the_same_turn_as_the_event_is_not_lost() -> None:
    waits = 0

    async def loop_forever(event: asyncio.Event) -> None:
        nonlocal waits
        while True:  # as the status file's and the power clock's loops do
            event.clear()
            waits += 1
            await event_or_timeout(event, 60.0)

    async def main() -> None:
        event = asyncio.Event()
        task = asyncio.create_task(loop_forever(event))
        for _ in range(3):
            await asyncio.sleep(0)  # the loop is waiting on the event now
        event.set()
        task.cancel()  # the same turn: wait_for would return normally and the loop go on
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10.0)

    asyncio.run(main())
    assert waits == 1
