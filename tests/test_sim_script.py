"""Scripted steps (--script) and the event bodies of the simulator's web API."""

from __future__ import annotations

import pytest

from firmware_bridge.protocol.messages import ButtonAction, EventKind, LogLevel, SwipeDirection
from hw_sim.script import (
    InputEvent,
    LogLine,
    Reboot,
    Step,
    Timeline,
    Unplug,
    parse_event_json,
    parse_script,
)

pytestmark = pytest.mark.fast


def test_parse_script_example_from_the_help() -> None:
    steps = parse_script("2.0 button press; 3.5 swipe forward; 5 battery 40 charging")
    assert [(s.at_s, s.action) for s in steps] == [
        (2.0, InputEvent(EventKind.BUTTON, 0, ButtonAction.PRESS)),
        (3.5, InputEvent(EventKind.SWIPE, SwipeDirection.FORWARD)),
        (5.0, InputEvent(EventKind.BATTERY, 40, 1)),
    ]


def test_parse_script_every_verb_sorted_by_time() -> None:
    text = """
        9 unplug 2.5
        1 button long 3; 1 button double
        2 worn off; 3 temperature -4.25; 4 event 0x7 1 -2
        5 log warning battery low; 6 reboot; 7 swipe back; 8 battery 101
    """
    actions = [s.action for s in parse_script(text)]
    assert actions == [
        InputEvent(EventKind.BUTTON, 3, ButtonAction.LONG_PRESS),
        InputEvent(EventKind.BUTTON, 0, ButtonAction.DOUBLE_PRESS),  # same time: as written
        InputEvent(EventKind.WORN, 0),
        InputEvent(EventKind.TEMPERATURE, 0, -425),
        InputEvent(7, 1, -2),
        LogLine(LogLevel.WARNING, "battery low"),
        Reboot(),
        InputEvent(EventKind.SWIPE, SwipeDirection.BACKWARD),
        InputEvent(EventKind.BATTERY, 100, 0),
        Unplug(2.5),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "x button press",
        "1 button smash",
        "2 dance",
        "3 swipe",
        "4 log",
        "5 event 300 0 0",
        "6 temperature 400",
    ],
)
def test_bad_script_steps_are_named(text: str) -> None:
    with pytest.raises(ValueError, match="bad script step"):
        parse_script(text)


def test_event_json_bodies() -> None:
    assert parse_event_json({"kind": "button", "action": "press"}) == InputEvent(
        EventKind.BUTTON, 0, ButtonAction.PRESS
    )
    assert parse_event_json({"kind": "swipe", "direction": "back"}) == InputEvent(
        EventKind.SWIPE, SwipeDirection.BACKWARD
    )
    assert parse_event_json({"kind": "battery", "percent": 40, "charging": True}) == InputEvent(
        EventKind.BATTERY, 40, 1
    )
    assert parse_event_json({"kind": "worn", "worn": False}) == InputEvent(EventKind.WORN, 0)
    assert parse_event_json({"kind": 4, "code": 0, "value": 2500}) == InputEvent(4, 0, 2500)
    assert parse_event_json({"kind": "log", "level": "error", "text": "hi"}) == LogLine(
        LogLevel.ERROR, "hi"
    )
    for bad in ({"kind": "laser"}, {"kind": "battery", "percent": "full"}, {}):
        with pytest.raises(ValueError):
            parse_event_json(bad)


def test_timeline_hands_out_due_steps_once() -> None:
    timeline = Timeline(parse_script("1 reboot; 3 unplug"))
    timeline.add(Step(2.0, 0, Reboot()))
    assert timeline.due(0.5) == []
    assert [s.at_s for s in timeline.due(2.0)] == [1.0, 2.0]
    assert len(timeline) == 1 and [s.action for s in timeline.due(9)] == [Unplug(1.0)]
