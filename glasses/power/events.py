"""What the power policy is told (events) and what it asks for (actions): plain frozen data.

Events carry no time: the policy is given ``now_s`` with each one, so tests pass time as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WornChange:
    """The glasses' wear sensor (EVENT WORN): put on (``worn``) or taken off."""

    worn: bool


@dataclass(frozen=True)
class Activity:
    """Something the wearer did or heard: ``speech`` starts (``speaking``) or ends, a ``button``
    or a ``swipe``. Speech keeps the display awake for as long as it lasts."""

    kind: Literal["speech", "button", "swipe"]
    speaking: bool = False


@dataclass(frozen=True)
class BatteryLevel:
    """The glasses' battery gauge (EVENT BATTERY)."""

    percent: int
    charging: bool


@dataclass(frozen=True)
class BoardHeat:
    """The computer's own readings: its hottest thermal zone (None: none readable), the
    throttling it reports now (``throttled``: e.g. ``"under-voltage"``; empty: none) and a
    Jetson's nvpmodel power mode (``power_mode``: its id, ``"1"``; ``power_mode_name``: the
    name its nvpmodel.conf gives it, ``"7W"``; empty: not a Jetson, or not known)."""

    celsius: float | None
    throttled: tuple[str, ...] = ()
    power_mode: str = ""
    power_mode_name: str = ""


@dataclass(frozen=True)
class GlassesHeat:
    """The glasses' temperature sensor (EVENT TEMPERATURE)."""

    celsius: float


PowerEvent: TypeAlias = WornChange | Activity | BatteryLevel | BoardHeat | GlassesHeat

# -- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetDisplay:
    """Panel on (WAKE) or off (SLEEP); the device keeps its content while asleep."""

    awake: bool


@dataclass(frozen=True)
class SetBrightness:
    level: int


@dataclass(frozen=True)
class SetListening:
    """Microphone, VAD and recogniser on, or stopped (the models stay loaded)."""

    on: bool


@dataclass(frozen=True)
class SetSaving:
    """Saving power for ``reasons`` (empty: not saving): drop tentative work first."""

    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Tell:
    """What the wearer sees of the power state: status-line ``alerts`` and a ``notice`` line
    above the text (empty: none)."""

    alerts: tuple[str, ...]
    notice: str = ""


@dataclass(frozen=True)
class Shutdown:
    """Stop the daemon cleanly, for ``reason`` (the warning has been shown)."""

    reason: str


Action: TypeAlias = SetDisplay | SetBrightness | SetListening | SetSaving | Tell | Shutdown
