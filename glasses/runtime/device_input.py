"""Device input on the wire -> the daemon's messages: what the temple button and the touch strip
mean, in every mode.

=============  ==========================  ===============================================
input          Captions / Translate        Read / Assistant
=============  ==========================  ===============================================
double press   next mode                   next mode
press          clear the captions          Read: capture and read a sign.
                                           Assistant: next page (wraps to the first)
long press     Assistant: listen for one   Assistant: listen for one question (long press
               question                    again while listening: stop listening)
swipe forward  —                           next page
swipe back     —                           previous page
swipe up       LOOK: Read, "what is this?"  LOOK: Read, "what is this?" about the camera's
               about the camera's picture  picture (a question spoken right after it is
                                           asked instead; glasses.modes.look)
=============  ==========================  ===============================================

This module only turns the wire's button and swipe codes into :class:`Intent`\\ s (and battery,
wear and temperature reports into :class:`Battery`, :class:`Worn`, :class:`GlassesTemperature`);
what an intent does in each mode is the modes' business
(``glasses.modes``), which never see a wire code. The simulator (and some firmware) reports a
long press as one event when it is released, so "push to talk" means: start listening, and the
question is the next utterance that ends. Modes cycle in the configured order
(``modes.enabled``). Swipe down is not used yet.
"""

from __future__ import annotations

from firmware_bridge.protocol import ButtonAction, Event, EventKind, SwipeDirection
from glasses.pipeline.messages import (
    Battery,
    GlassesTemperature,
    Intent,
    Message,
    UserInput,
    Worn,
)

_BUTTONS = {
    ButtonAction.PRESS: Intent.ACTION,
    ButtonAction.LONG_PRESS: Intent.ASK,
    ButtonAction.DOUBLE_PRESS: Intent.NEXT_MODE,
}
_SWIPES = {
    SwipeDirection.FORWARD: Intent.PAGE_NEXT,
    SwipeDirection.BACKWARD: Intent.PAGE_PREVIOUS,
    SwipeDirection.UP: Intent.LOOK,
}


def device_message(event: Event, at_s: float) -> Message | None:
    """The daemon message for a device EVENT, or None for events the daemon ignores."""
    if event.kind == EventKind.BUTTON and event.value in _BUTTONS:
        return UserInput(_BUTTONS[ButtonAction(event.value)], at_s)
    if event.kind == EventKind.SWIPE and event.code in _SWIPES:
        return UserInput(_SWIPES[SwipeDirection(event.code)], at_s)
    if event.kind == EventKind.BATTERY:
        return Battery(max(0, min(100, event.code)), bool(event.value))
    if event.kind == EventKind.WORN:
        return Worn(bool(event.code), at_s)
    if event.kind == EventKind.TEMPERATURE:
        return GlassesTemperature(event.value / 100, at_s)  # centi-degrees on the wire
    return None
