"""The control stage: every event -> the modes' :class:`Controller` -> effects and screens.

The controller is pure (see ``glasses.modes.controller``); this stage only feeds it, one
message at a time, so its state is never touched by two tasks.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from glasses.modes.controller import Controller
from glasses.pipeline.channel import Channel
from glasses.pipeline.messages import Message
from glasses.pipeline.stage import Send, Stage


class ControlStage(Stage[Message]):
    def __init__(
        self, inbox: Channel[Message], send: Send, controller: Controller, **kwargs: Any
    ) -> None:
        super().__init__("control", inbox, send, **kwargs)
        self.controller = controller

    async def process(self, msg: Message) -> AsyncGenerator[Message, None]:
        for effect in self.controller.handle(msg):
            yield effect
