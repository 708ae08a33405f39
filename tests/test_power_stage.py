"""The power wiring piece by piece, on a real event loop: the board reader on a fake sysfs tree,
wire events to messages, the controller's status line, the power stage driving the display,
the listen gate, the listen stage and the camera, and the microphone task pausing on the gate."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pytest

from firmware_bridge.protocol import Event, EventKind
from firmware_bridge.protocol.geometry import DisplayGeometry
from firmware_bridge.stats import LinkState
from glasses.display.raster import Renderer
from glasses.display.views import LlmSource, Mode, Screen, TextView
from glasses.modes.base import ModeContext, ModeOptions
from glasses.modes.controller import Controller
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import (
    AudioEnded,
    AudioIn,
    Battery,
    GlassesTemperature,
    Intent,
    Message,
    PeripheralState,
    PowerNotice,
    ScreenUpdate,
    SpeechActivity,
    UserInput,
    Worn,
)
from glasses.power.board import BoardReader
from glasses.runtime.device_input import device_message
from glasses.runtime.display_stage import DisplayStage
from glasses.runtime.listen_gate import ListenGate
from glasses.runtime.peripherals import run_microphone
from glasses.runtime.power_stage import PowerInput, PowerStage, Tick
from glasses.runtime.status import power_line
from glasses.runtime.vision_stages import CaptureStage
from glasses.settings import PowerSettings
from glasses.sources.audio import AudioChunk, SourceStats

pytestmark = pytest.mark.fast

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30.0))


# -- the board ------------------------------------------------------------------------------


def zone(root: Path, n: int, kind: str, temp: str) -> None:
    folder = root / "sys/class/thermal" / f"thermal_zone{n}"
    folder.mkdir(parents=True)
    (folder / "type").write_text(kind + "\n")
    (folder / "temp").write_text(temp + "\n")


def test_board_reader_takes_the_hottest_real_zone_and_the_present_throttling(
    tmp_path: Path,
) -> None:
    reader = BoardReader(tmp_path)
    assert reader.read().celsius is None and reader.throttled() == () and not reader.power_mode()
    zone(tmp_path, 0, "cpu-thermal", "61250")
    zone(tmp_path, 1, "PMIC-Die", "100000")  # a Jetson's fixed reading
    zone(tmp_path, 2, "gpu-thermal", "")  # disabled: unreadable
    zone(tmp_path, 3, "tj-thermal", "-256000")  # implausible
    zone(tmp_path, 4, "soc-thermal", "58000")
    throttled = tmp_path / "sys/devices/platform/soc/soc:firmware/get_throttled"
    throttled.parent.mkdir(parents=True)
    throttled.write_text("0x50005\n")  # under-voltage and throttled now; bits 16, 18: the past
    status = tmp_path / "var/lib/nvpmodel/status"
    status.parent.mkdir(parents=True)
    status.write_text("pmode:0002 fmode:quiet\n")
    heat = reader.read()
    assert heat.celsius == 61.25
    assert heat.throttled == ("under-voltage", "throttled")
    assert heat.power_mode == "2" and heat.power_mode_name == ""  # no nvpmodel.conf to name it
    throttled.write_text("garbage\n")
    assert reader.throttled() == ()


def nvpmodel(root: Path, status: str, conf: str | None = None) -> None:
    """A Jetson's nvpmodel files: the mode in use and, if given, the conf naming the modes."""
    path = root / "var/lib/nvpmodel/status"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(status)
    if conf is not None:
        (root / "etc").mkdir(exist_ok=True)
        (root / "etc/nvpmodel.conf").write_text(conf)


ORIN_NANO_CONF = """
< PARAM TYPE=FILE NAME=CPU_ONLINE >
CORE_0 /sys/devices/system/cpu/cpu0/online

< POWER_MODEL ID=0 NAME=15W >
CPU_ONLINE CORE_0 1

< POWER_MODEL ID=1 NAME=7W >
CPU_ONLINE CORE_0 1

< PM_CONFIG DEFAULT=0 >
"""


def test_board_reader_reads_the_jetson_power_mode_anew_on_every_reading(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reader = BoardReader(tmp_path)
    nvpmodel(tmp_path, "pmode:0001 fmode:quiet\n", ORIN_NANO_CONF)
    heat = reader.read()
    assert (heat.power_mode, heat.power_mode_name) == ("1", "7W")
    nvpmodel(tmp_path, "pmode:0000 fmode:quiet\n")  # sudo nvpmodel -m 0 while the daemon runs
    heat = reader.read()
    assert (heat.power_mode, heat.power_mode_name) == ("0", "15W")
    # A JetPack upgrade brings a conf with another name for mode 0: read again once changed.
    (tmp_path / "etc/nvpmodel.conf").write_text(
        "< POWER_MODEL ID=0 NAME=MAXN_SUPER >\n" + "#" * 40 + "\n"
    )
    assert reader.read().power_mode_name == "MAXN_SUPER"
    (tmp_path / "etc/nvpmodel.conf").unlink()
    assert reader.read().power_mode_name == ""  # unnamed, still known by its id
    nvpmodel(tmp_path, "pmode:zz\n")
    with caplog.at_level("WARNING", logger="glasses.power.board"):
        assert reader.read().power_mode == ""
    assert "'pmode:zz' is not pmode:N" in caplog.text


# -- the glasses' events and the status line -------------------------------------------------


def test_wear_and_temperature_events_become_messages() -> None:
    assert device_message(Event(EventKind.WORN, 0, 0), 3.0) == Worn(False, 3.0)
    assert device_message(Event(EventKind.WORN, 1, 0), 4.0) == Worn(True, 4.0)
    assert device_message(Event(EventKind.TEMPERATURE, 0, -1250), 5.0) == GlassesTemperature(
        -12.5, 5.0
    )


class FixedLayout:
    def page_view(self, text: str) -> Any:
        raise AssertionError("not used")

    def clean(self, text: str) -> str:
        return text

    def fits_line(self, text: str) -> bool:
        return True


def alerts(c: Controller) -> tuple[str, ...]:
    return c.status.alerts  # read through a call: mypy would keep the first value narrowed


def test_the_controller_shows_power_alerts_after_the_peripherals_and_a_notice_line() -> None:
    ctx = ModeContext(FixedLayout(), ModeOptions(), has_asr=True, has_llm=False, has_camera=False)
    c = Controller(ctx, [Mode.CAPTIONS], Mode.CAPTIONS, LlmSource.NONE)
    c.handle(PeripheralState("microphone", False, "gone"))
    c.handle(PowerNotice(("SAVING",)))
    assert alerts(c) == ("NO MIC", "SAVING")
    effects = c.handle(PowerNotice(("BATTERY", "SAVING"), "battery 3 %: shutting down"))
    (update,) = [e for e in effects if isinstance(e, ScreenUpdate)]
    assert update.screen.status is not None
    assert update.screen.status.alerts == ("NO MIC", "BATTERY", "SAVING")
    assert "(battery 3 %: shutting down)" in str(update.screen.body)
    c.handle(PeripheralState("microphone", True))
    c.handle(PowerNotice())
    assert alerts(c) == () and "power" not in c.notices


def test_power_line_reads_as_a_sentence() -> None:
    line = power_line(
        {
            "state": "idle",
            "for_s": 40.2,
            "why": "nothing happened for 120 s",
            "display": "asleep",
            "brightness": 255,
            "listening": True,
            "saving": ["computer"],
            "battery": {"percent": 50, "charging": True},
            "computer_c": 76.4,
            "throttled": ["throttled"],
            "glasses_c": None,
            "power_mode": "2",
            "power_mode_name": "MAXN_SUPER",
        }
    )
    assert line == (
        "power: idle for 40 s (nothing happened for 120 s), display asleep at 255, listening; "
        "saving: computer; battery 50 % charging; computer 76 °C (throttled); "
        "nvpmodel mode 2 (MAXN_SUPER)"
    )


# -- the power stage ---------------------------------------------------------------------------


class FakePanel:
    """The link: screens shown, panel commands, every PRESENT acknowledged at once."""

    state = LinkState.CONNECTED

    def __init__(self) -> None:
        self.calls: list[str] = []

    def show(self, levels: Any) -> None:
        self.calls.append("show")

    def wait_presented(self, timeout_s: float) -> bool:
        return True

    def sleep(self) -> None:
        self.calls.append("sleep")

    def wake(self) -> None:
        self.calls.append("wake")

    def set_brightness(self, level: int) -> None:
        self.calls.append(f"brightness {level}")

    def set_keepalive(self, keepalive_s: float | None) -> None:
        self.calls.append(f"keepalive {keepalive_s}")


class FakeListen:
    saving = False


class Rig:
    def __init__(self, settings: PowerSettings) -> None:
        self.now = [0.0]
        self.sent: list[Message] = []
        self.panel = FakePanel()
        clock = lambda: self.now[0]  # noqa: E731
        screens: Channel[ScreenUpdate] = Channel("screen", 1, Overflow.KEEP_NEWEST)
        self.display = DisplayStage(
            screens,
            self.send,
            self.panel,
            Renderer(DisplayGeometry(64, 32, 1)),
            panel=self.panel,
            clock=clock,
        )
        self.gate, self.listen, self.reasons = ListenGate(), FakeListen(), list[str]()
        self.changes: list[str] = []  # power states the status file was told about
        inbox: Channel[PowerInput] = Channel("power", 64, Overflow.BLOCK)
        self.stage = PowerStage(
            inbox,
            self.send,
            settings,
            display=self.display,
            gate=self.gate,
            listen=self.listen,
            shutdown=self.reasons.append,
            changed=lambda: self.changes.append(self.stage.policy.state.value),
            clock=clock,
        )

    async def send(self, msg: Message) -> None:
        self.sent.append(msg)

    async def feed(self, msg: PowerInput, at_s: float) -> None:
        self.now[0] = at_s
        async for out in self.stage.process(msg):
            self.sent.append(out)


@pytest.mark.process  # the renderer finds its font with fc-match
def test_the_power_stage_carries_out_the_policy() -> None:
    rig = Rig(PowerSettings(dim_after_s=30.0, sleep_after_s=60.0, brightness=200))

    async def main() -> None:
        await rig.feed(Tick(), 0.0)
        assert rig.panel.calls == ["brightness 200"]
        await rig.feed(Worn(False), 1.0)
        assert rig.panel.calls[-2:] == ["sleep", "keepalive 2.5"] and not rig.gate.is_open
        assert rig.stage.put_on_s is None  # taking them off is no putting on
        assert rig.changes == ["off_head"]  # the status file is rewritten at once
        # Asleep, a new screen is held back (nothing goes over the link)...
        await rig.display.inbox.put(ScreenUpdate(Screen(TextView("later"))))
        async for _ in rig.display.process(await rig.display.inbox.get()):
            pass
        assert "show" not in rig.panel.calls and rig.display.held is not None
        # ...and follows the WAKE when they are put on again.
        await rig.feed(Worn(True), 2.0)
        assert rig.panel.calls[-2:] == ["wake", "keepalive None"] and rig.gate.is_open
        assert rig.display.inbox.qsize() == 1 and rig.display.held is None
        assert rig.stage.put_on_s == 2.0  # when, for timing the wake-up
        await rig.feed(UserInput(Intent.ACTION), 10.0)
        await rig.feed(Tick(), 40.0)
        assert rig.panel.calls[-1] == "brightness 48"  # dimmed
        await rig.feed(SpeechActivity(True), 41.0)
        assert rig.panel.calls[-1] == "brightness 200"
        await rig.feed(Battery(15, False), 42.0)
        assert rig.listen.saving and rig.sent[-1] == PowerNotice(("SAVING",), saving=True)
        await rig.feed(Battery(3, False), 43.0)
        assert not rig.gate.is_open and "shutting down" in rig.sent[-1].notice
        await rig.feed(Tick(), 48.0)
        assert rig.reasons == ["the glasses' battery is critical (battery 3 %)"]
        assert rig.stage.status()["state"] == "shutting_down"

    run(main())


class OpenCamera:
    """A camera left open after a capture (closed ``camera.idle_close_s`` later)."""

    closed = False

    def close(self) -> None:
        self.closed = True


def test_taking_the_glasses_off_closes_a_camera_left_open() -> None:
    camera = OpenCamera()

    async def main() -> None:
        async def send(msg: Message) -> None:
            pass

        requests: Channel[Any] = Channel("capture", 1, Overflow.KEEP_NEWEST)
        opener = lambda: cast(Any, camera)  # noqa: E731
        capture = CaptureStage(requests, send, opener, still_timeout_s=5.0, idle_close_s=60.0)
        capture.camera = cast(Any, camera)
        inbox: Channel[PowerInput] = Channel("power", 64, Overflow.BLOCK)
        stage = PowerStage(inbox, send, PowerSettings(), capture=capture, clock=lambda: 1.0)
        async for _ in stage.process(Worn(False)):
            pass
        assert capture.camera is None
        capture.worker.close()

    run(main())
    assert camera.closed


# -- the microphone pauses on the gate ---------------------------------------------------------


class WaitingSource:
    """Two chunks, then nothing until closed (a quiet microphone)."""

    sample_rate_hz = 16_000

    def __init__(self, opened: list[WaitingSource]) -> None:
        opened.append(self)
        self.closed = threading.Event()

    def chunks(self) -> Iterator[AudioChunk]:
        for i in range(2):
            yield AudioChunk(np.zeros(160, dtype=np.float32), 160 * i)
        self.closed.wait()

    def stats(self) -> SourceStats:
        return SourceStats()

    def close(self) -> None:
        self.closed.set()


def test_the_microphone_closes_while_the_gate_is_shut_and_reopens_after() -> None:
    opened: list[WaitingSource] = []
    sent: list[Message] = []
    gate = ListenGate()

    async def main() -> None:
        async def send(msg: Message) -> None:
            sent.append(msg)

        async def until(check: Callable[[], bool]) -> None:
            while not check():
                await asyncio.sleep(0)  # other tasks and worker threads run meanwhile

        ticks = iter(range(1, 100))
        clock = lambda: float(next(ticks))  # noqa: E731
        mic = run_microphone(lambda: WaitingSource(opened), send, gate=gate, clock=clock)
        task = asyncio.ensure_future(mic)
        await until(lambda: sum(isinstance(m, AudioIn) for m in sent) == 2)
        assert gate.source_opened_s == 1.0
        gate.set(False)
        await until(lambda: any(isinstance(m, AudioEnded) for m in sent))
        assert opened[0].closed.is_set() and len(opened) == 1
        gate.set(True)
        await until(lambda: sum(isinstance(m, AudioIn) for m in sent) == 4)
        assert len(opened) == 2 and {m.stream for m in sent if isinstance(m, AudioIn)} == {1, 2}
        assert gate.source_opened_s == 2.0  # the reopening, for timing the wake-up
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(main())
    ended = [m for m in sent if isinstance(m, AudioEnded)]
    assert ended[0] == AudioEnded(1)  # a pause ends the stream without an error
