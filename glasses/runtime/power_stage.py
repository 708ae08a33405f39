"""The power stage: owns the :class:`~glasses.power.PowerPolicy` and carries out its actions.

It hears the wear sensor, the battery, the glasses' temperature, speech starting and ending,
buttons and swipes (the daemon sends it a copy of each), and the computer's own thermal zones,
throttling and Jetson power mode (:class:`~glasses.power.board.BoardReader`, read every
``power.board_poll_s``).
Its actions go to the parts that own the devices:

* display SLEEP / WAKE / brightness: :meth:`DisplayStage.set_panel`;
* listening: the :class:`ListenGate` the microphone task obeys; the camera is closed too;
* saving: the listen stage spaces partial transcripts (``power.saving_partial_interval_s``),
  and the modes skip tentative work (the :class:`PowerNotice` says ``saving``);
* what the wearer sees (``SAVING``, a critical battery): a :class:`PowerNotice` to the control
  stage, which puts it on the status line;
* shutdown: the daemon's ``shutdown`` callback, which stops it cleanly.

Time passes in :meth:`PowerStage.run_clock`, which sleeps until the policy's next deadline (or
the next board reading) and then hands the stage a :class:`Tick`: no polling in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from glasses.pipeline.channel import Channel
from glasses.pipeline.messages import (
    Battery,
    GlassesTemperature,
    Intent,
    Message,
    PowerNotice,
    SpeechActivity,
    UserInput,
    Worn,
)
from glasses.pipeline.stage import Send, Stage
from glasses.pipeline.waits import event_or_timeout
from glasses.power import events as pe
from glasses.power.board import BoardReader
from glasses.power.policy import PowerPolicy
from glasses.runtime.display_stage import DisplayStage
from glasses.runtime.listen_gate import ListenGate
from glasses.runtime.vision_stages import CaptureStage
from glasses.settings import PowerSettings

log = logging.getLogger(__name__)

POWER_INPUTS = (Worn, GlassesTemperature, Battery, SpeechActivity, UserInput)
"""Messages the daemon copies to the power stage (the last three also go to the control stage)."""


@dataclass(frozen=True)
class Tick:
    """The time has come for the policy's next deadline; ``board``: a fresh board reading."""

    board: pe.BoardHeat | None = None


PowerInput: TypeAlias = Worn | GlassesTemperature | Battery | SpeechActivity | UserInput | Tick


def power_event(msg: PowerInput) -> pe.PowerEvent | None:
    """The policy's event for a daemon message; None for what means nothing to it."""
    if isinstance(msg, Worn):
        return pe.WornChange(msg.worn)
    if isinstance(msg, GlassesTemperature):
        return pe.GlassesHeat(msg.celsius)
    if isinstance(msg, Battery):
        return pe.BatteryLevel(msg.percent, msg.charging)
    if isinstance(msg, SpeechActivity):
        return pe.Activity("speech", speaking=msg.speaking)
    if isinstance(msg, UserInput):
        swipe = msg.intent in (Intent.PAGE_NEXT, Intent.PAGE_PREVIOUS)
        return pe.Activity("swipe" if swipe else "button")
    return msg.board


class Saver(Protocol):
    """What saves power when told to (the listen stage: no partial transcripts)."""

    saving: bool


class PowerStage(Stage[PowerInput]):
    def __init__(
        self,
        inbox: Channel[PowerInput],
        send: Send,
        settings: PowerSettings,
        *,
        display: DisplayStage | None = None,
        gate: ListenGate | None = None,
        listen: Saver | None = None,
        capture: CaptureStage | None = None,
        board: BoardReader | None = None,
        shutdown: Callable[[str], None] = lambda reason: None,
        changed: Callable[[], None] = lambda: None,
        **kwargs: Any,
    ) -> None:
        super().__init__("power", inbox, send, **kwargs)
        self.settings = settings
        self.policy = PowerPolicy(settings, self.clock())
        self.display, self.gate, self.listen, self.capture = display, gate, listen, capture
        self.board = board
        self.shutdown = shutdown
        self.changed = changed  # the power state or saving changed (the status file is rewritten)
        self.put_on_s: float | None = None  # the last EVENT WORN 1 handled (wake-up timing)
        self._moved = asyncio.Event()  # the policy has handled a message: its deadline moved
        polled = board is not None and settings.board_poll_s > 0
        self._next_board_s = self.clock() if polled else float("inf")

    async def process(self, msg: PowerInput) -> AsyncGenerator[Message, None]:
        now = self.clock()
        event = power_event(msg)
        was = (self.policy.state, self.policy.saving)
        if isinstance(event, pe.WornChange) and event.worn and not self.policy.worn:
            self.put_on_s = now
        actions = self.policy.on_event(event, now) if event is not None else []
        actions += self.policy.tick(now)
        self._moved.set()
        if (self.policy.state, self.policy.saving) != was:
            self.changed()
        for action in actions:
            notice = await self._carry_out(action)
            if notice is not None:
                yield notice

    async def _carry_out(self, action: pe.Action) -> PowerNotice | None:
        why = self.policy.why
        if isinstance(action, pe.SetBrightness) and self.display is not None:
            self.display.set_panel(brightness=action.level)
        elif isinstance(action, pe.SetDisplay) and self.display is not None:
            log.info("display %s (%s)", "awake" if action.awake else "asleep", why)
            self.display.set_panel(awake=action.awake)
        elif isinstance(action, pe.SetListening):
            log.info("listening %s (%s)", "on" if action.on else "off", why)
            if self.gate is not None:
                self.gate.set(action.on)
            if not action.on and self.capture is not None:
                await self.capture.close()
        elif isinstance(action, pe.SetSaving):
            if action.reasons:
                log.warning("saving power: %s", ", ".join(action.reasons))
            if self.listen is not None:
                self.listen.saving = bool(action.reasons)
        elif isinstance(action, pe.Tell):
            return PowerNotice(action.alerts, action.notice, saving=bool(self.policy.saving))
        elif isinstance(action, pe.Shutdown):
            log.warning("shutting down: %s", action.reason)
            self.shutdown(action.reason)
        return None

    def status(self) -> dict[str, Any]:
        return self.policy.status(self.clock())  # the power mode: from the latest board reading

    # -- time ------------------------------------------------------------------------------

    async def run_clock(self) -> None:
        """Tick the stage at the policy's deadlines and read the board every ``board_poll_s``;
        sleeps in between (a deadline that moves wakes it to look again)."""
        poll_s = self.settings.board_poll_s
        await self.inbox.put(Tick(await self._read_board(poll_s)))  # the first: apply settings
        while True:
            self._moved.clear()
            due = min(self.policy.next_due_s() or float("inf"), self._next_board_s)
            timeout_s = None if due == float("inf") else max(0.0, due - self.clock())
            if await event_or_timeout(self._moved, timeout_s):
                continue  # something happened: the deadline may have moved
            self._moved.clear()
            await self.inbox.put(Tick(await self._read_board(poll_s)))
            await self._moved.wait()  # handled: the policy's deadline has moved on

    async def _read_board(self, poll_s: float) -> pe.BoardHeat | None:
        now = self.clock()
        if self.board is None or now < self._next_board_s:
            return None
        self._next_board_s = now + poll_s
        return await asyncio.to_thread(self.board.read)  # may run vcgencmd: off the loop
