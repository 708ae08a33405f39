"""What every mode is and shares: pure state machines from messages to effects and a view.

A mode never touches a device, a model or a clock. It receives messages (transcripts, OCR
results, LLM deltas, user intents) and returns effects (LLM requests, cancellations, captures);
:meth:`ModeLogic.body` is what it wants on screen now. The controller adds the status bar.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal, Protocol

from glasses.display.charclass import command
from glasses.display.views import BodyView, Mode, PageButton, PageView
from glasses.llm.chat_template import ChatMessage
from glasses.modes.clauses import ClausePolicy
from glasses.modes.text import plain_text, shorten
from glasses.pipeline.messages import CancelLlm, Intent, LlmDelta, LlmDone, LlmRequest, Message

ASR_HINT: Final = "glasses models pull sensevoice"
LLM_HINT: Final = "glasses models pull qwen3-0.6b-int4"
# Shown instead of a command too long for one line of the display: it lists the fixes.
DOCTOR_HINT: Final = "glasses doctor"
# The swipes that page through a PageView.
PAGING: Final = {Intent.PAGE_NEXT: PageButton.NEXT, Intent.PAGE_PREVIOUS: PageButton.PREVIOUS}


class Layout(Protocol):
    """The display's text metrics, as far as modes need them."""

    def page_view(self, text: str) -> PageView:
        """``text`` paginated for the body area."""
        ...

    def clean(self, text: str) -> str:
        """``text`` without characters the font cannot draw."""
        ...

    def fits_line(self, text: str) -> bool:
        """Whether ``text`` fits on one line of the body area."""
        ...


@dataclass(frozen=True)
class ModeOptions:
    """The configuration the modes read (built from ``glasses.settings.Settings``)."""

    caption_lines: int = 3
    languages: tuple[str, str] = ("zh", "en")
    read_action: Literal["auto", "translate", "summarise"] = "auto"
    read_language: str = "en"
    read_max_chars: int = 160
    answer_max_chars: int = 320
    use_read_context: bool = True
    max_new_tokens: int = 160
    clauses: ClausePolicy = field(default_factory=ClausePolicy)  # translate mode
    look_prompt: str = "What is this? Answer in one short sentence."  # LOOK's own question
    look_max_chars: int = 200
    look_question_window_s: float = 3.0  # speech starting this soon after LOOK asks about it


class ModeContext:
    """Shared by all modes: layout, what is available, request ids, the last text read."""

    def __init__(
        self,
        layout: Layout,
        options: ModeOptions | None = None,
        *,
        has_asr: bool = True,
        has_llm: bool = True,
        has_camera: bool = True,
        has_vision: bool = False,
    ) -> None:
        self.layout = layout
        self.options = options or ModeOptions()
        self.has_asr = has_asr
        self.has_llm = has_llm
        self.has_camera = has_camera
        self.has_vision = has_vision  # the model can look at pictures (else LOOK reads text)
        self.last_read_text = ""
        self.saving = False  # the power stage saves power: modes skip tentative work
        self._next_id = 0

    def new_request_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def request(
        self, messages: tuple[ChatMessage, ...], max_new_tokens: int | None = None
    ) -> tuple[LlmRequest, Generation]:
        """A new LLM request and the :class:`Generation` that tracks its reply."""
        request_id = self.new_request_id()
        tokens = max_new_tokens or self.options.max_new_tokens
        return LlmRequest(request_id, messages, tokens), Generation(request_id)

    def page_view(self, text: str, index: int = 0) -> PageView:
        """``text`` paginated for the body area, open at page ``index`` (or at its last page,
        when it has fewer): a reply that grows or shrinks as it streams keeps its page."""
        page = self.layout.page_view(text)
        return PageView(page.pages, min(index, page.page_count - 1))

    def hint(self, fix: str) -> str:
        """The command ``fix`` marked to stay whole on one line; where no line holds it,
        a pointer to ``glasses doctor`` (which lists it) rather than a command cut in two."""
        if self.layout.fits_line(fix):
            return command(fix)
        return f"see {command(DOCTOR_HINT)}"

    def screen_text(self, text: str) -> str:
        """Model or sensor text as it may be shown: plain, and drawable by the font."""
        return self.layout.clean(plain_text(text))

    def answer_text(self, g: Generation, max_chars: int) -> str:
        """A streamed answer as it may be shown so far: its screen text, the error it ended
        with said after it, cut to ``max_chars``; "" while there is nothing to show."""
        text = self.screen_text(g.text)
        if g.done and g.error:
            text = f"{text}\n(no answer: {g.error})".strip()
        return shorten(text, max_chars) if text else ""


@dataclass
class Generation:
    """The LLM request a mode is waiting for, and the text streamed so far."""

    request_id: int
    text: str = ""
    done: bool = False
    error: str = ""

    def absorb(self, msg: Message) -> bool:
        """Take a delta or the end of this request; True if ``msg`` belonged to it."""
        if isinstance(msg, LlmDelta) and msg.request_id == self.request_id:
            self.text = msg.text if msg.reset else self.text + msg.text
            return True
        if isinstance(msg, LlmDone) and msg.request_id == self.request_id:
            self.text, self.done, self.error = msg.text, True, msg.error
            return True
        return False


def absorb(generation: Generation | None, msg: Message) -> bool:
    """Take ``msg`` into ``generation`` if it is a delta or the end of it: see
    :meth:`Generation.absorb`; False when there is no generation."""
    return generation is not None and generation.absorb(msg)


def cancel(generation: Generation | None) -> list[Message]:
    """The effect that stops ``generation`` if it is still running."""
    if generation is None or generation.done:
        return []
    return [CancelLlm(generation.request_id)]


class ModeLogic(abc.ABC):
    """One mode's state. ``handle`` gets every message meant for it; ``leave`` is called when
    the user switches away (it cancels what is running)."""

    mode: ClassVar[Mode]

    def __init__(self, ctx: ModeContext) -> None:
        self.ctx = ctx

    @abc.abstractmethod
    def handle(self, msg: Message) -> list[Message]:
        """React to ``msg``; returns effects for the pipeline."""

    @abc.abstractmethod
    def body(self) -> BodyView:
        """What this mode shows now."""

    def leave(self) -> list[Message]:
        return []
