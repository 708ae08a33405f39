"""The daemon: the stages of ``glasses.pipeline`` and the modes' controller, assembled.

::

    microphone task ─AudioIn─► [audio: block] ─► listen ─┐
    display events task ─ UserInput/Battery/PeripheralState ─┤
                         [capture: newest] ─► capture ─► [frames: newest] ─► ocr ─┤
                         [llm: newest] ─► generate ─ LlmDelta/LlmDone ───────────┤
                                                                                 ▼
                  [screen: newest] ◄─ ScreenUpdate ─ control (Controller) ◄─ [control: block]

Every arrow into a stage is a bounded :class:`Channel`; :meth:`Daemon.route` sends each
message by its type. ``CancelLlm`` skips the queues: it reaches the running generation at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
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
from firmware_bridge.protocol.geometry import DisplayGeometry
from firmware_bridge.stats import DeviceInfo, LinkState
from glasses.display.raster import Renderer
from glasses.display.views import LlmSource, Mode
from glasses.errors import GlassesError
from glasses.llm.picture_route import accepts_images
from glasses.modes.base import ModeContext
from glasses.modes.controller import Controller
from glasses.pipeline.channel import Channel, Overflow
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
from glasses.runtime.control_stage import ControlStage
from glasses.runtime.display_stage import DisplayStage, RendererLayout, WireProbe
from glasses.runtime.generate_stage import GenerateStage
from glasses.runtime.listen_gate import ListenGate
from glasses.runtime.listen_stage import ListenStage
from glasses.runtime.parts import Parts, generation_options, mode_options, speech_pipeline
from glasses.runtime.peripherals import run_display_events, run_microphone
from glasses.runtime.power_stage import POWER_INPUTS, PowerStage
from glasses.runtime.status import UnsafeDirectory, process_usage, write_status
from glasses.runtime.vision_stages import CaptureStage, OcrStage
from glasses.settings import Settings

log = logging.getLogger(__name__)

CONNECT_POLL_S: Final = 0.25


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
        self.status_path = status_path
        self.metrics = Metrics()
        self.probe = WireProbe(clock)
        self.link = DisplayLink(
            LinkConfig(url=settings.display.url, baud=settings.display.baud, wait_for_port=True),
            Compositor.for_device,
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
        tasks: list[asyncio.Task[None]] = [asyncio.ensure_future(self._status_loop())]
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
            self._write_status()

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
        settings, parts, clock = self.settings, self.parts, self.clock
        geometry = DisplayGeometry(info.width_px, info.height_px, info.bpp)
        font, size = settings.display.font or None, settings.display.font_size_px or None
        # Two renderers on purpose: the modes measure text on the loop's thread while the
        # display stage draws on its worker, and a FreeType face must not be used by two
        # threads at once (see RendererLayout).
        renderer = functools.partial(Renderer, geometry, font, size)
        listening = parts.audio is not None and parts.vad is not None
        reading = parts.camera is not None and parts.ocr is not None
        ctx = ModeContext(
            RendererLayout(renderer()),
            mode_options(settings),
            has_asr=listening and parts.recognizer is not None,
            has_llm=parts.backend is not None,
            has_camera=reading,
            has_vision=accepts_images(parts.backend),
        )
        llm = LlmSource(parts.backend.source) if parts.backend is not None else LlmSource.NONE
        modes = [Mode[name.upper()] for name in settings.modes.enabled]
        self.controller = Controller(ctx, modes, Mode[settings.modes.start.upper()], llm)
        ch = self.channels = {
            "control": Channel("control", 256, Overflow.BLOCK),
            "audio": Channel("audio", 64, Overflow.BLOCK),
            "capture": Channel("capture", 1, Overflow.KEEP_NEWEST),
            "frames": Channel("frames", 1, Overflow.KEEP_NEWEST),
            "llm": Channel("llm", 1, Overflow.KEEP_NEWEST),
            "screen": Channel("screen", 1, Overflow.KEEP_NEWEST),
        }
        ch["power"] = Channel("power", 64, Overflow.BLOCK)
        kw: dict[str, Any] = {"metrics": self.metrics, "clock": clock}
        display = DisplayStage(
            ch["screen"], self.route, self.link, renderer(), probe=self.probe, panel=self.link, **kw
        )
        stages: list[Stage[Any]] = [ControlStage(ch["control"], self.route, self.controller, **kw)]
        stages.append(display)
        coroutines = [run_display_events(self.link, self.route, clock)]
        gate, listen = ListenGate(), None
        if listening and parts.audio is not None:
            speech = speech_pipeline(settings, parts)
            listen = ListenStage(
                ch["audio"],
                self.route,
                speech,
                partials=settings.asr.partials,
                saving_partial_interval_s=settings.power.saving_partial_interval_s,
                **kw,
            )
            stages.append(listen)
            coroutines.append(run_microphone(parts.audio, self.route, gate=gate))
        if reading and parts.camera is not None and parts.ocr is not None:
            camera = settings.camera
            stages.append(
                CaptureStage(
                    ch["capture"],
                    self.route,
                    parts.camera,
                    still_timeout_s=camera.still_timeout_s,
                    idle_close_s=camera.idle_close_s,
                    look_max_side_px=settings.look.max_side_px,
                    **kw,
                )
            )
            stages.append(OcrStage(ch["frames"], self.route, parts.ocr, **kw))
        if parts.backend is not None:
            options = generation_options(settings)
            stages.append(GenerateStage(ch["llm"], self.route, parts.backend, options, **kw))
        capture = next((s for s in stages if isinstance(s, CaptureStage)), None)
        self.power = PowerStage(
            ch["power"],
            self.route,
            settings.power,
            display=display,
            gate=gate,
            listen=listen,
            capture=capture,
            board=self.board,
            shutdown=self._shut_down,
            **kw,
        )
        stages.append(self.power)
        coroutines.append(self.power.run_clock())
        self.stages = {stage.name: stage for stage in stages}
        return [*(stage.run() for stage in stages), *coroutines]

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
            "stop_reason": self.stop_reason,
            "metrics": self.metrics.snapshot(),
            "process": process_usage(),
        }

    async def _status_loop(self) -> None:
        from glasses.llm.router import FallbackBackend

        backend = getattr(self.parts.backend, "text", self.parts.backend)  # a PictureRouter's
        router = backend if isinstance(backend, FallbackBackend) else None
        while True:
            if router is not None:
                router.probe_soon()  # a remote that came back is used again; never blocks
            self._write_status()
            await asyncio.sleep(self.settings.log.status_interval_s)

    def _write_status(self) -> None:
        if self.status_path is None:
            return
        try:
            write_status(self.status_path, self.snapshot())
        except UnsafeDirectory as exc:  # will not change by itself: said once, not every second
            log.warning("no status file: %s", exc)
            self.status_path = None
        except OSError as exc:  # status is a convenience: say so, keep the glasses working
            log.warning("cannot write the status file %s: %s", self.status_path, exc)
