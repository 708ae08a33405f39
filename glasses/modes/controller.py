"""Mode switching and the screen: the daemon's decision logic, pure and clock-free.

``Controller.handle(msg)`` routes one message and returns effects, ending with a
:class:`ScreenUpdate` whenever the screen (status bar + the current mode's view) changed.

* intents: ``NEXT_MODE`` cycles the enabled modes, ``ASK`` jumps to the assistant and listens,
  ``LOOK`` jumps to Read and looks (``glasses.modes.look``), the rest go to the current mode (``glasses.runtime.device_input`` has the button map);
* transcripts and speech activity go to the current mode only; LLM and OCR results go to every
  mode, each taking only the requests it made (so a switch mid-answer loses nothing);
* the battery, the link state and the LLM backend in use feed the status bar; a microphone or
  camera that is away is shown as a notice line on the screen and an alert in the status bar
  ("NO MIC", "NO CAM") until it is back; the power stage's :class:`PowerNotice` adds its alerts
  ("SAVING") and a notice line (a critical battery) the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from glasses.display.views import (
    BodyView,
    CaptionView,
    LinkState,
    LlmSource,
    Mode,
    PageView,
    Screen,
    StatusBar,
    TextView,
)
from glasses.modes.assistant import AssistantMode
from glasses.modes.base import ModeContext, ModeLogic
from glasses.modes.captions import CaptionsMode
from glasses.modes.read import ReadMode
from glasses.modes.translate import TranslateMode
from glasses.pipeline.messages import (
    AskText,
    Battery,
    CameraFrame,
    Intent,
    LlmDelta,
    LlmDone,
    Message,
    OcrText,
    PeripheralState,
    PowerNotice,
    ScreenUpdate,
    SetMode,
    StillImage,
    UserInput,
)

MODE_CLASSES: dict[Mode, type[ModeLogic]] = {
    Mode.CAPTIONS: CaptionsMode,
    Mode.TRANSLATE: TranslateMode,
    Mode.READ: ReadMode,
    Mode.ASSIST: AssistantMode,
}
_BROADCAST = (LlmDelta, LlmDone, OcrText, CameraFrame, StillImage)
_NOTICES = {"microphone": "microphone away, reconnecting…", "camera": "camera away"}
_ALERTS = {"microphone": "NO MIC", "camera": "NO CAM"}  # the status bar's short form


def with_notice(body: BodyView, notice: str) -> BodyView:
    """``body`` with a one-line ``notice`` on top (it takes the place of the last line)."""
    if isinstance(body, CaptionView):
        return body.with_partial(f"({notice}) {body.partial}".strip())
    if isinstance(body, PageView):
        lines = (f"({notice})", *body.lines[:-1]) if body.lines else (f"({notice})",)
        pages = tuple(lines if i == body.page_index else p for i, p in enumerate(body.pages))
        return PageView(pages, body.page_index)
    return TextView(f"({notice})\n{body.text}")


class Controller:
    def __init__(
        self, ctx: ModeContext, enabled: Sequence[Mode], start: Mode, llm: LlmSource
    ) -> None:
        if not enabled or start not in enabled:
            raise ValueError(f"start mode {start.value} must be one of the enabled modes")
        self.ctx = ctx
        self.order = tuple(enabled)
        self.modes = {mode: MODE_CLASSES[mode](ctx) for mode in self.order}
        self.status = StatusBar(mode=start, link=LinkState.CONNECTING, llm=llm)
        self.notices: dict[str, str] = {}
        self.power = PowerNotice()  # saving, a critical battery: from the power stage
        self.screen: Screen | None = None
        self.inputs = 0  # user inputs handled so far (scripts wait on it)

    @property
    def mode(self) -> Mode:
        return self.status.mode

    @property
    def current(self) -> ModeLogic:
        return self.modes[self.mode]

    def handle(self, msg: Message) -> list[Message]:
        effects = self._route(msg)
        screen = self.compose()
        if screen != self.screen:
            self.screen = screen
            at_s = getattr(msg, "at_s", None)
            if isinstance(msg, LlmDone):
                at_s = None  # the end of a stream is not what the reader waited for
            effects.append(ScreenUpdate(screen, type(msg).__name__, at_s))
        return effects

    def compose(self) -> Screen:
        body = self.current.body()
        for notice in self.notices.values():
            body = with_notice(body, notice)
        return Screen(body, self.status)

    def _route(self, msg: Message) -> list[Message]:
        if isinstance(msg, UserInput | AskText):
            self.inputs += 1
        if isinstance(msg, SetMode):
            return self._switch(msg.mode)
        if isinstance(msg, UserInput) and msg.intent is Intent.NEXT_MODE:
            return self._switch(self.order[(self.order.index(self.mode) + 1) % len(self.order)])
        if isinstance(msg, UserInput | AskText) and Mode.ASSIST in self.modes:
            asking = isinstance(msg, AskText) or msg.intent is Intent.ASK
            if asking and self.mode is not Mode.ASSIST:
                return [*self._switch(Mode.ASSIST), *self.current.handle(msg)]
        looking = isinstance(msg, UserInput) and msg.intent is Intent.LOOK
        if looking and Mode.READ in self.modes and self.mode is not Mode.READ:
            return [*self._switch(Mode.READ), *self.current.handle(msg)]
        if isinstance(msg, Battery):
            self.status = replace(self.status, battery_percent=msg.percent, charging=msg.charging)
            return []
        if isinstance(msg, PeripheralState):
            return self._peripheral(msg)
        if isinstance(msg, PowerNotice):
            self.power = msg
            self.ctx.saving = msg.saving
            self.notices.pop("power", None)
            if msg.notice:
                self.notices["power"] = msg.notice
            return self._alert()
        if isinstance(msg, LlmDone) and msg.source in ("local", "remote"):
            self.status = replace(self.status, llm=LlmSource(msg.source))
        if isinstance(msg, _BROADCAST):
            return [effect for mode in self.modes.values() for effect in mode.handle(msg)]
        return self.current.handle(msg)

    def _switch(self, mode: Mode) -> list[Message]:
        if mode not in self.modes or mode is self.mode:
            return []
        effects = self.current.leave()
        self.status = replace(self.status, mode=mode)
        return effects

    def _peripheral(self, msg: PeripheralState) -> list[Message]:
        if msg.peripheral == "display":
            link = LinkState.CONNECTED if msg.up else LinkState.DISCONNECTED
            self.status = replace(self.status, link=link)
        elif msg.up:
            self.notices.pop(msg.peripheral, None)
        else:
            self.notices[msg.peripheral] = _NOTICES[msg.peripheral]
        return self._alert()

    def _alert(self) -> list[Message]:
        # In a fixed order, whatever order the peripherals went away in; power's last.
        alerts = tuple(_ALERTS[p] for p in _ALERTS if p in self.notices) + self.power.alerts
        self.status = replace(self.status, alerts=alerts)
        return []
