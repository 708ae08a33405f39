"""``glasses mode look``: the control socket turns it into the swipe up's LOOK intent, and
refuses it where the read mode (which shows the answer) is not enabled."""

from __future__ import annotations

import pytest
from runtime_support import ASK_NOW_S, FakeDaemon, ask

from glasses.display.views import Mode
from glasses.pipeline.messages import Intent, UserInput

pytestmark = pytest.mark.fast


def test_look_becomes_the_look_intent() -> None:
    daemon = FakeDaemon((Mode.CAPTIONS, Mode.READ))
    assert ask(daemon, b'{"mode": "look"}\n') == {"ok": True, "mode": "read"}
    assert daemon.routed == [UserInput(Intent.LOOK, ASK_NOW_S)]


def test_look_without_the_read_mode_is_refused() -> None:
    daemon = FakeDaemon((Mode.CAPTIONS, Mode.TRANSLATE))
    reply = ask(daemon, b'{"mode": "look"}\n')
    assert not reply["ok"] and "look needs the read mode" in reply["error"]
    assert daemon.routed == []
