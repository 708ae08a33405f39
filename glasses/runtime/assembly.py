"""The daemon's stages, channels and controller, built once the display's geometry is known.

::

    microphone task ─AudioIn─► [audio: block] ─► listen ─┐
    display events task ─ UserInput/Battery/PeripheralState ─┤
                         [capture: newest] ─► capture ─► [frames: newest] ─► ocr ─┤
                         [llm: newest] ─► generate ─ LlmDelta/LlmDone ───────────┤
                                                                                 ▼
                  [screen: newest] ◄─ ScreenUpdate ─ control (Controller) ◄─ [control: block]
    Worn/Battery/SpeechActivity/UserInput copies ─► [power: block] ─► power ─► panel, gate

Every arrow into a stage is a bounded :class:`Channel`, and the daemon's ``route`` sends each
message by its type; each stage gets only the channels and parts it uses. Which stages exist follows
from the parts: no microphone or VAD, no listen stage; no camera or OCR, no capture and OCR
stages; no LLM backend, no generate stage. The power stage is always there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from firmware_bridge.link import DisplayLink
from firmware_bridge.protocol.geometry import DisplayGeometry
from firmware_bridge.stats import DeviceInfo
from glasses.display.raster import Renderer
from glasses.display.views import LlmSource, Mode
from glasses.llm.picture_route import accepts_images
from glasses.modes.base import ModeContext
from glasses.modes.controller import Controller
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.metrics import Metrics
from glasses.pipeline.stage import Clock, Send, Stage
from glasses.power.board import BoardReader
from glasses.runtime.control_stage import ControlStage
from glasses.runtime.display_stage import DisplayStage, RendererLayout, WireProbe
from glasses.runtime.generate_stage import GenerateStage
from glasses.runtime.listen_gate import ListenGate
from glasses.runtime.listen_stage import ListenStage
from glasses.runtime.parts import Parts, generation_options, mode_options, speech_pipeline
from glasses.runtime.peripherals import LinkSignal, run_display_events, run_microphone
from glasses.runtime.power_stage import PowerStage
from glasses.runtime.vision_stages import CaptureStage, OcrStage
from glasses.settings import Settings


@dataclass
class Wiring:
    """What the daemon owns besides the parts: the link, how messages are sent, the clock."""

    link: DisplayLink
    signal: LinkSignal  # the link's I/O thread wakes the display-events task through it
    probe: WireProbe
    send: Send
    board: BoardReader
    shutdown: Callable[[str], None]
    power_changed: Callable[[], None]
    metrics: Metrics
    clock: Clock


@dataclass
class Assembly:
    controller: Controller
    channels: dict[str, Channel[Any]]
    stages: dict[str, Stage[Any]]
    power: PowerStage
    tasks: list[Coroutine[Any, Any, None]] = field(default_factory=list)


def assemble(settings: Settings, parts: Parts, info: DeviceInfo, w: Wiring) -> Assembly:
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
    controller = Controller(ctx, modes, Mode[settings.modes.start.upper()], llm)
    ch: dict[str, Channel[Any]] = {
        "control": Channel("control", 256, Overflow.BLOCK),
        "audio": Channel("audio", 64, Overflow.BLOCK),
        "capture": Channel("capture", 1, Overflow.KEEP_NEWEST),
        "frames": Channel("frames", 1, Overflow.KEEP_NEWEST),
        "llm": Channel("llm", 1, Overflow.KEEP_NEWEST),
        "screen": Channel("screen", 1, Overflow.KEEP_NEWEST),
        "power": Channel("power", 64, Overflow.BLOCK),
    }
    kw: dict[str, Any] = {"metrics": w.metrics, "clock": w.clock}
    send = w.send
    display = DisplayStage(
        ch["screen"], send, w.link, renderer(), probe=w.probe, panel=w.link, **kw
    )
    stages: list[Stage[Any]] = [ControlStage(ch["control"], send, controller, **kw), display]
    tasks = [run_display_events(w.link, w.signal, send, w.clock)]
    gate, listen = ListenGate(), None
    if listening and parts.audio is not None:
        listen = ListenStage(
            ch["audio"],
            send,
            speech_pipeline(settings, parts),
            partials=settings.asr.partials,
            saving_partial_interval_s=settings.power.saving_partial_interval_s,
            **kw,
        )
        stages.append(listen)
        tasks.append(run_microphone(parts.audio, send, gate=gate, clock=w.clock))
    capture = None
    if reading and parts.camera is not None and parts.ocr is not None:
        camera = settings.camera
        capture = CaptureStage(
            ch["capture"],
            send,
            parts.camera,
            still_timeout_s=camera.still_timeout_s,
            idle_close_s=camera.idle_close_s,
            look_max_side_px=settings.look.max_side_px,
            **kw,
        )
        stages += [capture, OcrStage(ch["frames"], send, parts.ocr, **kw)]
    if parts.backend is not None:
        options = generation_options(settings)
        stages.append(GenerateStage(ch["llm"], send, parts.backend, options, **kw))
    power = PowerStage(
        ch["power"],
        send,
        settings.power,
        display=display,
        gate=gate,
        listen=listen,
        capture=capture,
        board=w.board,
        shutdown=w.shutdown,
        changed=w.power_changed,
        **kw,
    )
    stages.append(power)
    tasks.append(power.run_clock())
    by_name = {stage.name: stage for stage in stages}
    return Assembly(controller, ch, by_name, power, [*(s.run() for s in stages), *tasks])
