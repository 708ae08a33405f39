"""The power policy: events and the time in, actions out. No clocks, threads or devices.

States (:class:`PowerState`), from what the policy knows:

* ``worn``: on the head, something happened lately: display on at ``power.brightness``;
* ``dim``: worn, nothing happened (no speech, button or swipe) for ``power.dim_after_s``;
* ``idle``: worn and quiet for ``power.sleep_after_s``: display asleep, still listening, so
  speech (or a button, a swipe) wakes it at once;
* ``off_head``: taken off (EVENT WORN 0): display asleep and listening stopped; only the wear
  sensor brings it back (models stay loaded);
* ``shutting_down``: the battery is critical (and not charging): a warning is shown, and after
  :data:`SHUTDOWN_WARNING_S` the daemon stops cleanly.

Saving (:class:`~glasses.power.events.SetSaving`) lies across these: a low battery, a hot
computer or glasses, a throttling computer, or a Jetson power mode listed in
``power.saving_power_modes`` turn it on, and it ends with a margin
(:data:`BATTERY_MARGIN_PERCENT`, :data:`HEAT_MARGIN_C`) so a reading near the threshold does
not flap. The policy works out the state it wants from what it knows and returns only the
actions that change something, so calling it again is harmless.
"""

from __future__ import annotations

import enum
from typing import Any, Final

from glasses.power.events import (
    Action,
    Activity,
    BatteryLevel,
    BoardHeat,
    GlassesHeat,
    PowerEvent,
    SetBrightness,
    SetDisplay,
    SetListening,
    SetSaving,
    Shutdown,
    Tell,
    WornChange,
)
from glasses.settings import PowerSettings

SHUTDOWN_WARNING_S: Final = 5.0  # the critical-battery warning stays this long before stopping
BATTERY_MARGIN_PERCENT: Final = 5  # saving for a low battery ends this far above the threshold
HEAT_MARGIN_C: Final = 5.0  # saving for heat ends this far below the threshold
SAVING_ALERT: Final = "SAVING"
CRITICAL_ALERT: Final = "BATTERY"


class PowerState(str, enum.Enum):
    WORN = "worn"
    DIM = "dim"
    IDLE = "idle"
    OFF_HEAD = "off_head"
    SHUTTING_DOWN = "shutting_down"


class PowerPolicy:
    """Feed it :meth:`on_event` and :meth:`tick`; call :meth:`tick` again at :meth:`next_due_s`."""

    def __init__(self, settings: PowerSettings, now_s: float) -> None:
        self.settings = settings
        self.worn = True  # glasses without a wear sensor never say otherwise
        self.speaking = False
        self.last_activity_s = now_s
        self.battery: BatteryLevel | None = None
        self.board = BoardHeat(None)
        self.glasses_c: float | None = None
        self.critical_since_s: float | None = None
        self.saving: tuple[str, ...] = ()
        self.state = PowerState.WORN
        self.since_s = now_s
        self.why = "started"
        self.shutdown_sent = False
        # What the devices were last told (they start awake, at full brightness, listening).
        self.awake, self.brightness, self.listening = True, 255, True
        self.told = Tell(())

    # -- input -------------------------------------------------------------------------------

    def on_event(self, event: PowerEvent, now_s: float) -> list[Action]:
        why = self.why
        if isinstance(event, WornChange) and event.worn != self.worn:
            self.worn, self.speaking = event.worn, False
            self.last_activity_s = now_s  # putting them on counts as something happening
            why = "put on" if event.worn else "taken off"
        elif isinstance(event, Activity) and self.worn:
            self.last_activity_s = now_s
            if event.kind == "speech":
                self.speaking = event.speaking
            why = "speech" if event.kind == "speech" else f"a {event.kind}"
        elif isinstance(event, BatteryLevel):
            self.battery = event
            why = self._battery_why(event, now_s) or why
        elif isinstance(event, BoardHeat):
            self.board = event
        elif isinstance(event, GlassesHeat):
            self.glasses_c = event.celsius
        return self._apply(now_s, why)

    def tick(self, now_s: float) -> list[Action]:
        """Act on the time passing (dimming, sleeping, the end of the shutdown warning)."""
        return self._apply(now_s, self.why)

    def next_due_s(self) -> float | None:
        """When :meth:`tick` next has something to do; None: not until another event."""
        s, state = self.settings, self.state
        if state is PowerState.SHUTTING_DOWN:
            assert self.critical_since_s is not None
            return None if self.shutdown_sent else self.critical_since_s + SHUTDOWN_WARNING_S
        if self.speaking or state not in (PowerState.WORN, PowerState.DIM):
            return None
        after = [s.sleep_after_s] if state is PowerState.DIM else [s.dim_after_s, s.sleep_after_s]
        return min((self.last_activity_s + t for t in after if t > 0), default=None)

    # -- what it wants -----------------------------------------------------------------------

    def _battery_why(self, battery: BatteryLevel, now_s: float) -> str:
        critical = self.settings.critical_battery_percent
        if not battery.charging and battery.percent <= critical and critical > 0:
            if self.critical_since_s is None:
                self.critical_since_s = now_s
                return f"battery {battery.percent} %"
        elif self.critical_since_s is not None and not self.shutdown_sent:
            self.critical_since_s = None  # plugged in during the warning: carry on
            return "charging" if battery.charging else f"battery {battery.percent} %"
        return ""

    def _wanted_state(self, now_s: float) -> PowerState:
        s = self.settings
        quiet_s = now_s - self.last_activity_s
        if self.critical_since_s is not None:
            return PowerState.SHUTTING_DOWN
        if not self.worn:
            return PowerState.OFF_HEAD
        if self.speaking:
            return PowerState.WORN
        if s.sleep_after_s > 0 and quiet_s >= s.sleep_after_s:
            return PowerState.IDLE
        if s.dim_after_s > 0 and quiet_s >= s.dim_after_s:
            return PowerState.DIM
        return PowerState.WORN

    def _saving_reasons(self) -> tuple[str, ...]:
        """Why to save power now; each reason ends only with a margin past its threshold."""
        s, b, was = self.settings, self.battery, self.saving
        low = s.low_battery_percent + (BATTERY_MARGIN_PERCENT if "battery" in was else 0)
        reasons = {
            "battery": b is not None and not b.charging and b.percent < low,
            "computer": _hot(self.board.celsius, s.board_hot_c, "computer" in was),
            "glasses": _hot(self.glasses_c, s.glasses_hot_c, "glasses" in was),
            **{f"computer {flag}": True for flag in self.board.throttled},
            _mode_reason(self.board): _mode_listed(self.board, s.saving_power_modes),
        }
        return tuple(name for name, on in reasons.items() if on)

    def _apply(self, now_s: float, why: str) -> list[Action]:
        state = self._wanted_state(now_s)
        if state is not self.state:
            if state in (PowerState.DIM, PowerState.IDLE):
                why = f"nothing happened for {now_s - self.last_activity_s:.0f} s"
            self.state, self.since_s = state, now_s
        self.why = why
        s, actions = self.settings, list[Action]()
        saving = self._saving_reasons()
        if saving != self.saving:
            self.saving = saving
            actions.append(SetSaving(saving))
        level = s.dim_brightness if state is PowerState.DIM else s.brightness
        awake = state in (PowerState.WORN, PowerState.DIM, PowerState.SHUTTING_DOWN)
        if awake and level != self.brightness:  # before WAKE: the panel comes on at this level
            self.brightness = level
            actions.append(SetBrightness(level))
        if awake != self.awake:
            self.awake = awake
            actions.append(SetDisplay(awake))
        listening = state not in (PowerState.OFF_HEAD, PowerState.SHUTTING_DOWN)
        if listening != self.listening:
            self.listening = listening
            actions.append(SetListening(listening))
        tell = self._tell(state)
        if tell != self.told:
            self.told = tell
            actions.append(tell)
        if state is PowerState.SHUTTING_DOWN and not self.shutdown_sent:
            assert self.critical_since_s is not None
            if now_s >= self.critical_since_s + SHUTDOWN_WARNING_S:
                self.shutdown_sent = True
                actions.append(Shutdown(f"the glasses' battery is critical ({self.why})"))
        return actions

    def _tell(self, state: PowerState) -> Tell:
        alerts = (SAVING_ALERT,) if self.saving else ()
        if state is PowerState.SHUTTING_DOWN:
            percent = self.battery.percent if self.battery is not None else 0
            notice = f"battery {percent} %: shutting down, charge the glasses"
            return Tell((CRITICAL_ALERT, *alerts), notice)
        return Tell(alerts)

    # -- status ------------------------------------------------------------------------------

    def status(self, now_s: float) -> dict[str, Any]:
        """For the status file and ``glasses status``: the state, why, since when, saving."""
        b = self.battery
        return {
            "state": self.state.value,
            "why": self.why,
            "for_s": round(now_s - self.since_s, 1),
            "saving": list(self.saving),
            "display": "awake" if self.awake else "asleep",
            "brightness": self.brightness,
            "listening": self.listening,
            "battery": None if b is None else {"percent": b.percent, "charging": b.charging},
            "computer_c": self.board.celsius,
            "throttled": list(self.board.throttled),
            "glasses_c": self.glasses_c,
            "power_mode": self.board.power_mode,
            "power_mode_name": self.board.power_mode_name,
        }


def _mode_listed(board: BoardHeat, listed: tuple[str, ...]) -> bool:
    """Whether the board's power mode is one of ``listed`` (ids as numbers, names in any case)."""
    mode, name = board.power_mode, board.power_mode_name.casefold()
    return mode.isdigit() and any(
        int(entry) == int(mode) if entry.isdigit() else entry.casefold() == name
        for entry in listed  # ascii names (the settings check them): isdigit is 0-9
    )


def _mode_reason(board: BoardHeat) -> str:
    """``nvpmodel mode 1 (7W)``: what the status line and the log say."""
    named = f" ({board.power_mode_name})" if board.power_mode_name else ""
    return f"nvpmodel mode {board.power_mode}{named}"


def _hot(celsius: float | None, limit_c: float, was_hot: bool) -> bool:
    return celsius is not None and celsius >= limit_c - (HEAT_MARGIN_C if was_hot else 0.0)
