"""Scripted inputs and faults: ``--script "2.0 button press; 3.5 swipe forward; 5 battery 40
charging"`` and the JSON bodies of ``POST /api/event`` become the same :data:`Action` values.

Step words (time in seconds after start first):
``button press|long|double [ID]``, ``swipe forward|back|up|down``, ``battery PCT [charging]``,
``worn on|off``, ``temperature CELSIUS``, ``event KIND CODE VALUE``, ``log LEVEL TEXT...``,
``reboot``, ``unplug [SECONDS]``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from firmware_bridge.protocol.messages import ButtonAction, EventKind, LogLevel, SwipeDirection


@dataclass(frozen=True)
class InputEvent:
    """An EVENT for the device to send (fields as in the EVENT message)."""

    kind: int
    code: int = 0
    value: int = 0

    def __post_init__(self) -> None:
        # Checked here so a bad script fails at start, not in the I/O loop minutes later.
        if not (0 <= self.kind <= 0xFF and 0 <= self.code <= 0xFF):
            raise ValueError(f"event kind and code must be 0..255, got {self.kind}, {self.code}")
        if not -0x8000 <= self.value <= 0x7FFF:
            raise ValueError(f"event value must be a signed 16-bit number, got {self.value}")


@dataclass(frozen=True)
class LogLine:
    level: LogLevel
    text: str


@dataclass(frozen=True)
class Reboot:
    """A watchdog-style reboot of the device."""


@dataclass(frozen=True)
class Unplug:
    duration_s: float = 1.0


Action = InputEvent | LogLine | Reboot | Unplug

_BUTTON: Final = {
    "press": ButtonAction.PRESS,
    "long": ButtonAction.LONG_PRESS,
    "long_press": ButtonAction.LONG_PRESS,
    "double": ButtonAction.DOUBLE_PRESS,
    "double_press": ButtonAction.DOUBLE_PRESS,
}
_SWIPE: Final = {
    "forward": SwipeDirection.FORWARD,
    "back": SwipeDirection.BACKWARD,
    "backward": SwipeDirection.BACKWARD,
    "up": SwipeDirection.UP,
    "down": SwipeDirection.DOWN,
}
_ON_OFF: Final = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


def _pick(table: Mapping[str, int], word: str, what: str) -> int:
    try:
        return table[word.lower()]
    except KeyError:
        raise ValueError(f"unknown {what} {word!r} (one of {', '.join(table)})") from None


def _level(word: str) -> LogLevel:
    try:
        return LogLevel[word.upper()]
    except KeyError:
        raise ValueError(f"unknown log level {word!r}") from None


def _finite(word: str, what: str, low: float, high: float) -> float:
    """``word`` as a number within ``low..high``; NaN and infinity are refused."""
    value = float(word)
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{what} must be a number within {low:g}..{high:g}, not {word!r}")
    return value


def parse_action(words: list[str]) -> Action:
    """One step without its time, e.g. ``["battery", "40", "charging"]``."""
    if not words:
        raise ValueError("empty step")
    verb, args = words[0].lower(), words[1:]
    if verb == "button":
        action = _pick(_BUTTON, args[0] if args else "press", "button action")
        return InputEvent(EventKind.BUTTON, int(args[1]) if len(args) > 1 else 0, action)
    if verb == "swipe" and args:
        return InputEvent(EventKind.SWIPE, _pick(_SWIPE, args[0], "swipe direction"))
    if verb == "battery" and args:
        charging = len(args) > 1 and args[1].lower() == "charging"
        return InputEvent(EventKind.BATTERY, max(0, min(int(args[0]), 100)), int(charging))
    if verb == "worn":
        return InputEvent(EventKind.WORN, int(_ON_OFF.get(args[0].lower() if args else "on", True)))
    if verb == "temperature" and args:
        return InputEvent(
            EventKind.TEMPERATURE, 0, round(_finite(args[0], "celsius", -100, 200) * 100)
        )
    if verb == "event" and len(args) == 3:
        return InputEvent(int(args[0], 0), int(args[1], 0), int(args[2], 0))
    if verb == "log" and len(args) >= 2:
        return LogLine(_level(args[0]), " ".join(args[1:]))
    if verb == "reboot" and not args:
        return Reboot()
    if verb == "unplug":
        return Unplug(_finite(args[0], "unplug seconds", 0, 3600) if args else 1.0)
    raise ValueError(f"cannot understand step {' '.join(words)!r}")


def parse_event_json(body: Mapping[str, object]) -> InputEvent | LogLine:
    """The body of ``POST /api/event``: ``{"kind": "button", "action": "press"}`` and friends,
    or a raw ``{"kind": 1, "code": 0, "value": 1}``."""
    kind = body.get("kind")
    if isinstance(kind, int):
        return InputEvent(kind, _int(body, "code", 0), _int(body, "value", 0))
    if kind == "button":
        words = ["button", str(body.get("action", "press")), str(_int(body, "button", 0))]
    elif kind == "swipe":
        words = ["swipe", str(body.get("direction", "forward"))]
    elif kind == "battery":
        words = ["battery", str(_int(body, "percent", 100))] + (
            ["charging"] if body.get("charging") else []
        )
    elif kind == "worn":
        words = ["worn", "on" if body.get("worn", True) else "off"]
    elif kind == "temperature":
        words = ["temperature", str(body.get("celsius", 25.0))]
    elif kind == "log":
        words = ["log", str(body.get("level", "info")), str(body.get("text", ""))]
    else:
        raise ValueError(f"unknown event kind {kind!r}")
    action = parse_action(words)
    assert isinstance(action, InputEvent | LogLine)
    return action


def _int(body: Mapping[str, object], key: str, default: int) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key} must be an integer")
    return value


@dataclass(order=True, frozen=True)
class Step:
    at_s: float
    """Seconds after the simulator started."""
    order: int = 0
    """Position in the script: steps at the same time run in the order written."""
    action: Action = field(default=Reboot(), compare=False)


def parse_script(text: str) -> list[Step]:
    """``"TIME words; TIME words"`` (``;`` or newlines between steps) into timed steps."""
    steps = []
    for order, raw in enumerate(text.replace("\n", ";").split(";")):
        words = raw.split()
        if not words:
            continue
        try:
            at_s = _finite(words[0], "step time", 0, 1e9)
            steps.append(Step(at_s, order, parse_action(words[1:])))
        except (ValueError, IndexError) as exc:
            raise ValueError(f"bad script step {raw.strip()!r}: {exc}") from None
    return sorted(steps)


class Timeline:
    """Steps waiting for their time; bounded by what the user scripted."""

    def __init__(self, steps: list[Step]) -> None:
        self._heap = list(steps)
        heapq.heapify(self._heap)

    def add(self, step: Step) -> None:
        heapq.heappush(self._heap, step)

    def due(self, now_s: float) -> list[Step]:
        out = []
        while self._heap and self._heap[0].at_s <= now_s:
            out.append(heapq.heappop(self._heap))
        return out

    def __len__(self) -> int:
        return len(self._heap)
