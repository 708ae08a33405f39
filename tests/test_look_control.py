"""``glasses mode look``: the control socket turns it into the swipe up's LOOK intent, and
refuses it where the read mode (which shows the answer) is not enabled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from glasses.display.views import Mode
from glasses.pipeline.messages import Intent, Message, SetMode, UserInput
from glasses.runtime.control_socket import ControlServer, DaemonControls

pytestmark = pytest.mark.fast


class FakeDaemon:
    """Records what is routed; a LOOK lands in Read at once, like the controller."""

    def __init__(self, enabled: tuple[Mode, ...]) -> None:
        self.state = "running"
        self.controller = SimpleNamespace(order=enabled, mode=enabled[0], inputs=0)
        self.routed: list[Message] = []

    async def route(self, msg: Message) -> None:
        self.routed.append(msg)
        if isinstance(msg, UserInput):
            self.controller.inputs += 1
            self.controller.mode = Mode.READ
        elif isinstance(msg, SetMode):
            self.controller.mode = msg.mode


def ask(daemon: FakeDaemon, line: bytes) -> dict[str, Any]:
    server = ControlServer(Path("/nonexistent"), DaemonControls(daemon, lambda: 3.0))
    return asyncio.run(server.handle(line))


def test_look_becomes_the_look_intent() -> None:
    daemon = FakeDaemon((Mode.CAPTIONS, Mode.READ))
    assert ask(daemon, b'{"mode": "look"}\n') == {"ok": True, "mode": "read"}
    assert daemon.routed == [UserInput(Intent.LOOK, 3.0)]


def test_look_without_the_read_mode_is_refused() -> None:
    daemon = FakeDaemon((Mode.CAPTIONS, Mode.TRANSLATE))
    reply = ask(daemon, b'{"mode": "look"}\n')
    assert not reply["ok"] and "look needs the read mode" in reply["error"]
    assert daemon.routed == []
