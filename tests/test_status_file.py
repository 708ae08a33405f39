"""The status file's tick: rewritten at once on a change, slow while the wearer is away."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from glasses.runtime.status_file import QUIET_STATUS_INTERVAL_S, StatusFile

pytestmark = pytest.mark.fast


def test_a_change_rewrites_the_file_at_once_without_waiting_for_the_tick(tmp_path: Path) -> None:
    path = tmp_path / "run" / "status.json"
    writes: list[int] = []
    written = asyncio.Queue[int]()

    def snapshot() -> dict[str, Any]:
        writes.append(len(writes) + 1)
        written.put_nowait(writes[-1])
        return {"write": writes[-1]}

    async def main() -> None:
        status = StatusFile(path, snapshot, interval_s=60.0)  # the tick alone: once a minute
        task = asyncio.ensure_future(status.run())
        assert await asyncio.wait_for(written.get(), 10.0) == 1  # at start
        status.changed()
        assert await asyncio.wait_for(written.get(), 10.0) == 2  # not a minute later
        task.cancel()

    asyncio.run(main())
    assert json.loads(path.read_text()) == {"write": 2}


def test_the_tick_slows_down_while_the_wearer_is_away() -> None:
    away = [False]
    status = StatusFile(None, dict, interval_s=1.0, away=lambda: away[0])
    assert status.due_in_s() == 1.0
    away[0] = True
    assert status.due_in_s() == QUIET_STATUS_INTERVAL_S == 10.0
    assert StatusFile(None, dict, interval_s=30.0, away=lambda: True).due_in_s() == 30.0
