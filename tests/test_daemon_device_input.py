"""The button map: wire button, swipe and battery codes -> the daemon's messages (the modes
never see a wire code; see glasses/runtime/device_input.py)."""

from __future__ import annotations

import pytest

from firmware_bridge.protocol import ButtonAction, Event, EventKind, SwipeDirection
from glasses.pipeline.messages import Battery, Intent, Message, UserInput, Worn
from glasses.runtime.device_input import device_message

pytestmark = pytest.mark.fast


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Event(EventKind.BUTTON, 0, ButtonAction.PRESS), UserInput(Intent.ACTION, 1.0)),
        (Event(EventKind.BUTTON, 0, ButtonAction.LONG_PRESS), UserInput(Intent.ASK, 1.0)),
        (Event(EventKind.BUTTON, 0, ButtonAction.DOUBLE_PRESS), UserInput(Intent.NEXT_MODE, 1.0)),
        (Event(EventKind.SWIPE, SwipeDirection.FORWARD), UserInput(Intent.PAGE_NEXT, 1.0)),
        (Event(EventKind.SWIPE, SwipeDirection.BACKWARD), UserInput(Intent.PAGE_PREVIOUS, 1.0)),
        (Event(EventKind.SWIPE, SwipeDirection.UP), UserInput(Intent.LOOK, 1.0)),
        (Event(EventKind.SWIPE, SwipeDirection.DOWN), None),
        (Event(EventKind.BATTERY, 77, 1), Battery(77, True)),
        (Event(EventKind.WORN, 1), Worn(True, 1.0)),
        (Event(EventKind.WORN, 0), Worn(False, 1.0)),
        (Event(EventKind.BOOT, 0), None),
        (Event(EventKind.BUTTON, 0, 99), None),
    ],
)
def test_button_map(event: Event, expected: Message | None) -> None:
    assert device_message(event, 1.0) == expected
