"""The power stage's clock (:meth:`PowerStage.run_clock`) on a real event loop with the time as
data: its first tick carries the board's reading (a hot computer saves power at once), and once
the policy's deadline and the next board reading are due it ticks again by itself (the display
dims and sleeps, the board is read anew), without waiting on a wall clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import Message, PowerNotice
from glasses.power.board import BoardReader
from glasses.power.policy import PowerState
from glasses.runtime.power_stage import PowerInput, PowerStage, Tick
from glasses.settings import PowerSettings

pytestmark = pytest.mark.fast


class Listen:
    saving = False


def hot_board(root: Path, celsius: float) -> None:
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text(f"{round(celsius * 1000)}\n")
    throttled = root / "sys/devices/platform/soc/soc:firmware/get_throttled"
    throttled.parent.mkdir(parents=True, exist_ok=True)
    throttled.write_text("0x0\n")  # a Pi that is not throttling (and no vcgencmd asked)


@dataclass
class Clocked:
    """A power stage whose clock runs on the event loop, reading the board under ``root``;
    ``now`` is the time it sees."""

    stage: PowerStage
    inbox: Channel[PowerInput]
    listen: Listen
    sent: list[Message]
    now: list[float]

    async def handle(self) -> Tick:
        """The clock's next tick, handled by the stage as the daemon would."""
        tick = await asyncio.wait_for(self.inbox.get(), 30.0)
        assert isinstance(tick, Tick)
        async for out in self.stage.process(tick):
            self.sent.append(out)
        return tick


def run_clocked(
    root: Path, settings: PowerSettings, script: Callable[[Clocked], Awaitable[None]]
) -> None:
    async def main() -> None:
        inbox: Channel[PowerInput] = Channel("power", 64, Overflow.BLOCK)
        sent: list[Message] = []
        now, listen = [0.0], Listen()

        async def send(msg: Message) -> None:
            sent.append(msg)

        board = BoardReader(root)
        stage = PowerStage(inbox, send, settings, listen=listen, board=board, clock=lambda: now[0])
        clock = asyncio.ensure_future(stage.run_clock())
        try:
            await script(Clocked(stage, inbox, listen, sent, now))
        finally:
            clock.cancel()
            await asyncio.gather(clock, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 60.0))


def test_the_clock_reads_the_board_and_ticks_at_the_deadlines(tmp_path: Path) -> None:
    hot_board(tmp_path, 80.0)
    settings = PowerSettings(dim_after_s=30.0, sleep_after_s=60.0, board_poll_s=10.0)

    async def script(run: Clocked) -> None:
        first = await run.handle()
        assert first.board is not None and first.board.celsius == 80.0
        assert run.listen.saving and run.stage.policy.saving == ("computer",)
        assert run.sent[-1] == PowerNotice(("SAVING",), saving=True)
        hot_board(tmp_path, 60.0)  # cooled down (well past the 5 °C margin)
        run.now[0] = 100.0  # past the dim and sleep deadlines and the next board reading
        second = await run.handle()
        assert second.board is not None and second.board.celsius == 60.0
        assert run.stage.policy.state is PowerState.IDLE and not run.stage.policy.awake
        assert not run.listen.saving and run.sent[-1] == PowerNotice()

    run_clocked(tmp_path, settings, script)


def jetson_mode(root: Path, mode: int) -> None:
    """What ``sudo nvpmodel -m MODE`` leaves behind, on an Orin Nano whose conf names 0 and 1."""
    status = root / "var/lib/nvpmodel/status"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text(f"pmode:{mode:04d} fmode:quiet\n")
    (root / "etc").mkdir(exist_ok=True)
    conf = "< POWER_MODEL ID=0 NAME=15W >\n< POWER_MODEL ID=1 NAME=7W >\n"
    (root / "etc/nvpmodel.conf").write_text(conf)


def test_a_listed_power_mode_saves_power_and_a_mode_change_is_read_on_the_next_poll(
    tmp_path: Path,
) -> None:
    hot_board(tmp_path, 50.0)
    jetson_mode(tmp_path, 1)
    settings = PowerSettings(dim_after_s=0.0, sleep_after_s=0.0, saving_power_modes=("7W",))

    async def script(run: Clocked) -> None:
        await run.handle()
        assert run.listen.saving and run.sent[-1] == PowerNotice(("SAVING",), saving=True)
        status = run.stage.status()
        assert status["saving"] == ["nvpmodel mode 1 (7W)"]
        assert (status["power_mode"], status["power_mode_name"]) == ("1", "7W")
        jetson_mode(tmp_path, 0)  # the wearer plugged in and chose 15 W again
        run.now[0] = settings.board_poll_s
        await run.handle()
        assert not run.listen.saving and run.sent[-1] == PowerNotice()
        status = run.stage.status()
        assert status["saving"] == [] and status["power_mode"] == "0"

    run_clocked(tmp_path, settings, script)
