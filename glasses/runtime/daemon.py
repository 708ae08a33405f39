"""The daemon: connects to the display, has :mod:`glasses.runtime.assembly` build the stages and
channels, routes messages by type (:meth:`Daemon.route`), supervises the tasks and keeps the
status file (:mod:`glasses.runtime.status_file`). ``CancelLlm`` skips the queues: it reaches
the running generation at once."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import os
import time
import types
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Final

from firmware_bridge.compositor import Compositor
from firmware_bridge.config import LinkConfig
from firmware_bridge.errors import LinkError
from firmware_bridge.link import DisplayLink, TransportFactory, open_configured_transport
from firmware_bridge.stats import DeviceInfo, LinkState
from glasses.errors import GlassesError
from glasses.modes.controller import Controller
from glasses.pipeline.channel import Channel
from glasses.pipeline.messages import (
    AudioEnded,
    AudioIn,
    CameraFrame,
    CancelLlm,
    CaptureRequest,
    GlassesTemperature,
    LlmRequest,
    Message,
    PeripheralState,
    ScreenUpdate,
    Worn,
)
from glasses.pipeline.metrics import Metrics
from glasses.pipeline.stage import Stage
from glasses.pipeline.worker import Worker
from glasses.power.board import BoardReader
from glasses.power.policy import PowerState
from glasses.runtime.assembly import Wiring, assemble
from glasses.runtime.display_stage import WireProbe
from glasses.runtime.generate_stage import GenerateStage
from glasses.runtime.listen_stage import ListenStage
from glasses.runtime.parts import Parts
from glasses.runtime.peripherals import LinkSignal
from glasses.runtime.power_stage import POWER_INPUTS, PowerStage
from glasses.runtime.status import process_usage
from glasses.runtime.status_file import StatusFile
from glasses.settings import Settings

log = logging.getLogger(__name__)

CONNECT_POLL_S: Final = 0.25
AWAY: Final = (PowerState.IDLE, PowerState.OFF_HEAD)  # the status file's slow tick


# Which channel each kind of message goes to; everything else goes to the control stage.
_ROUTES: Final[tuple[tuple[type | types.UnionType, str], ...]] = (
    (AudioIn | AudioEnded, "audio"),
    (ScreenUpdate, "screen"),
    (LlmRequest, "llm"),
    (CaptureRequest, "capture"),
    (CameraFrame, "frames"),
)


class Daemon:
    def __init__(
        self,
        settings: Settings,
        parts: Parts,
        *,
        status_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        transport_factory: TransportFactory = open_configured_transport,
        board: BoardReader | None = None,
    ) -> None:
        self.settings, self.parts, self.clock = settings, parts, clock
        self.board = board or BoardReader()  # the computer's thermal zones and throttling
        self.status = StatusFile(
            status_path,
            self.snapshot,
            interval_s=settings.log.status_interval_s,
            away=self._away,
            each_tick=self._status_tick,
        )
        self.metrics = Metrics()
        self.probe = WireProbe(clock)
        self.link_signal = LinkSignal()
        self.link = DisplayLink(
            LinkConfig(url=settings.display.url, baud=settings.display.baud, wait_for_port=True),
            Compositor.for_device,
            on_event=self.link_signal.notify,
            on_state=self.link_signal.notify,
            transport_factory=self.probe.wrap(transport_factory),
        )
        self.started_s = clock()
        self.state = "starting"
        self.peripherals: dict[str, str] = {}
        self.channels: dict[str, Channel[Any]] = {}
        self.stages: dict[str, Stage[Any]] = {}
        self.controller: Controller | None = None
        self.power: PowerStage | None = None
        self.stop_reason = ""  # why the daemon stopped itself (a critical battery)
        self._stop = asyncio.Event()

    # -- running ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; raises if a stage fails (a bug) or the link is fatal."""
        self._stop = stop
        self.link.start()
        tasks: list[asyncio.Task[None]] = [asyncio.ensure_future(self.status.run())]
        try:
            info = await self._connect(stop)
            if info is None:
                return
            tasks += [asyncio.ensure_future(c) for c in self._assemble(info)]
            self.state = "running"
            await self._supervise(tasks, stop)
        finally:
            self.state = "stopping"
            for stage in self.stages.values():
                stage.cancel_running()  # let model threads stop with everything else
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for stage in self.stages.values():
                stage.close_now()
            await asyncio.to_thread(self.link.close)
            self.state = "stopped"
            self.status.write()

    async def _connect(self, stop: asyncio.Event) -> DeviceInfo | None:
        waiter, url = Worker("connect"), self.settings.display.url
        try:
            for attempt in itertools.count():
                if stop.is_set():
                    return None
                try:
                    return await waiter.call(self.link.wait_connected, CONNECT_POLL_S)
                except LinkError as exc:
                    if self.link.state is LinkState.CLOSED:
                        raise GlassesError(f"display {url}: {exc}") from exc
                    level = logging.DEBUG if attempt else logging.WARNING  # once is enough
                    log.log(level, "waiting for the display at %s: %s", url, exc)
            return None  # pragma: no cover - the loop only ends by returning
        finally:
            waiter.close()

    async def _supervise(self, tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
        stopper = asyncio.ensure_future(stop.wait())
        waiting: set[asyncio.Future[Any]] = {stopper, *tasks}
        try:
            while stopper in waiting:
                done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = None if task is stopper else task.exception()
                    if error is not None:
                        raise error
        finally:
            stopper.cancel()

    def _assemble(self, info: DeviceInfo) -> list[Coroutine[Any, Any, None]]:
        wiring = Wiring(
            self.link,
            self.link_signal,
            self.probe,
            self.route,
            self.board,
            self._shut_down,
            self.status.changed,
            self.metrics,
            self.clock,
        )
        built = assemble(self.settings, self.parts, info, wiring)
        self.controller, self.channels, self.stages = built.controller, built.channels, built.stages
        self.power = built.power
        return built.tasks

    def _shut_down(self, reason: str) -> None:
        self.stop_reason = reason
        self._stop.set()

    # -- routing -----------------------------------------------------------------------------

    async def route(self, msg: Message) -> None:
        """Send ``msg`` where its type goes."""
        ch = self.channels
        if isinstance(msg, CancelLlm):
            llm = self.stages.get("llm")
            if isinstance(llm, GenerateStage):
                llm.cancel(msg.request_id)
            return
        if isinstance(msg, PeripheralState):
            self.peripherals[msg.peripheral] = "up" if msg.up else f"down: {msg.detail}"
            self.status.changed()
        if isinstance(msg, POWER_INPUTS) and "power" in ch:
            await ch["power"].put(msg)  # a copy: the control stage gets battery, speech, input
            if isinstance(msg, Worn | GlassesTemperature):
                return
        name = next((name for kind, name in _ROUTES if isinstance(msg, kind)), "control")
        target = ch[name]
        await target.put(msg)

    def idle(self) -> bool:
        """Nothing queued, nothing being processed."""
        return all(c.empty() for c in self.channels.values()) and all(
            not st.busy for st in self.stages.values()
        )

    # -- status ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        c = self.controller
        return {
            "state": self.state,
            "pid": os.getpid(),
            "uptime_s": round(self.clock() - self.started_s, 1),
            "mode": c.mode.value.lower() if c else None,
            "llm": c.status.llm.value if c else None,
            "display": {
                "url": self.settings.display.url,
                "state": self.link.state.value,
                "stats": dataclasses.asdict(self.link.stats),
            },
            "peripherals": dict(self.peripherals),
            "notes": list(self.parts.notes),
            "providers": dict(self.parts.providers),
            "loaded": dict(self.parts.loaded),
            "channels": {name: ch.stats().as_dict() for name, ch in self.channels.items()},
            "stages": {name: st.handled for name, st in self.stages.items()},
            "power": self.power.status() if self.power is not None else None,
            "wake_up": self._wake_up(),
            "stop_reason": self.stop_reason,
            "metrics": self.metrics.snapshot(),
            "process": process_usage(),
        }

    def _wake_up(self) -> dict[str, float | None]:
        """When the glasses were last put on, the microphone last opened and the first chunk of
        its stream handled, on the daemon's clock (scripts/bench_power.py times wake-ups)."""
        listen, power = self.stages.get("listen"), self.power
        times = {
            "put_on_at_s": power.put_on_s if power else None,
            "microphone_opened_at_s": power.gate.source_opened_s if power and power.gate else None,
            "first_chunk_at_s": listen.stream_first_s if isinstance(listen, ListenStage) else None,
        }
        return {k: None if v is None else round(v, 4) for k, v in times.items()}

    def _away(self) -> bool:
        return self.power is not None and self.power.policy.state in AWAY

    def _status_tick(self) -> None:
        from glasses.llm.router import FallbackBackend

        backend = getattr(self.parts.backend, "text", self.parts.backend)  # a PictureRouter's
        if isinstance(backend, FallbackBackend):
            backend.probe_soon()  # a remote that came back is used again; never blocks
