"""Keeping the daemon's status file fresh: rewritten every ``log.status_interval_s`` while the
wearer is about, every :data:`QUIET_STATUS_INTERVAL_S` while they are away (idle, taken off),
and at once on every change the daemon reports (:meth:`StatusFile.changed`: the power state or
saving, a peripheral or the display link). A slow tick while away saves wake-ups, not news."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from glasses.pipeline.waits import event_or_timeout
from glasses.runtime.status import UnsafeDirectory, write_status

log = logging.getLogger(__name__)

QUIET_STATUS_INTERVAL_S: Final = 10.0


class StatusFile:
    def __init__(
        self,
        path: Path | None,
        snapshot: Callable[[], dict[str, Any]],
        *,
        interval_s: float,
        away: Callable[[], bool] = lambda: False,
        each_tick: Callable[[], None] = lambda: None,
    ) -> None:
        self.path, self.snapshot, self.interval_s = path, snapshot, interval_s
        self.away = away  # the wearer is away: the slow tick
        self.each_tick = each_tick  # also done on each tick (a backend's probe)
        self._changed = asyncio.Event()

    def changed(self) -> None:
        """Something worth showing changed: rewrite the file now."""
        self._changed.set()

    def due_in_s(self) -> float:
        return max(self.interval_s, QUIET_STATUS_INTERVAL_S) if self.away() else self.interval_s

    async def run(self) -> None:
        while True:
            self.each_tick()
            self._changed.clear()
            self.write()
            await event_or_timeout(self._changed, self.due_in_s())

    def write(self) -> None:
        if self.path is None:
            return
        try:
            write_status(self.path, self.snapshot())
        except UnsafeDirectory as exc:  # will not change by itself: said once, not every second
            log.warning("no status file: %s", exc)
            self.path = None
        except OSError as exc:  # status is a convenience: say so, keep the glasses working
            log.warning("cannot write the status file %s: %s", self.path, exc)
