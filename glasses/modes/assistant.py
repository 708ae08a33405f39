"""Assistant: a long press, then a question; a brief answer sized for the display, paged by
button. The text the camera read last is offered as context ("what does this say?"), and
"tell Li I'm ten minutes late" drafts the message instead of answering.

Push to talk: the simulator reports a long press as one event, so a long press starts
listening and the next utterance that ends is the question (another long press stops
listening). A typed question (:class:`AskText`) works the same without a microphone.
"""

from __future__ import annotations

from glasses.display.views import BodyView, Mode, PageView, TextView
from glasses.modes.base import (
    ASR_HINT,
    LLM_HINT,
    PAGING,
    Generation,
    ModeContext,
    ModeLogic,
    absorb,
    cancel,
)
from glasses.modes.prompts import assistant_messages, message_recipient
from glasses.pipeline.messages import (
    AskText,
    FinalTranscript,
    Intent,
    LlmDelta,
    LlmDone,
    Message,
    PartialTranscript,
    UserInput,
)

PROMPT = "long press, then ask"
LISTENING = "listening… ask now"


class AssistantMode(ModeLogic):
    mode = Mode.ASSIST

    def __init__(self, ctx: ModeContext) -> None:
        super().__init__(ctx)
        self.listening = False
        self.hearing = ""
        self.question = ""
        self.recipient: str | None = None
        self.generation: Generation | None = None
        self.page: PageView | None = None

    def handle(self, msg: Message) -> list[Message]:
        if isinstance(msg, UserInput):
            return self._on_input(msg.intent)
        if isinstance(msg, AskText):
            return self._ask(msg.text)
        if isinstance(msg, PartialTranscript) and self.listening:
            self.hearing = self.ctx.layout.clean(msg.text)
        elif isinstance(msg, FinalTranscript) and self.listening and msg.text.strip():
            return self._ask(msg.text)
        elif isinstance(msg, LlmDelta | LlmDone) and absorb(self.generation, msg):
            self._show_answer()
        return []

    def leave(self) -> list[Message]:
        effects = cancel(self.generation)
        if self.generation is not None:
            self.generation.done = True
            self._show_answer()
        self.listening = False
        return effects

    def body(self) -> BodyView:
        if self.listening:
            return TextView(f"{LISTENING}\n{self.hearing}".strip())
        if self.page is not None:
            return self.page
        if self.generation is not None:
            return TextView(f"{self.question}\n…")
        lines = [PROMPT]
        if not self.ctx.has_asr:
            lines.append(f"no speech model: {self.ctx.hint(ASR_HINT)}")
        if not self.ctx.has_llm:
            lines.append(f"no language model: {self.ctx.hint(LLM_HINT)}")
        return TextView("\n".join(lines))

    def _on_input(self, intent: Intent) -> list[Message]:
        if intent is Intent.ASK:
            if self.listening or not self.ctx.has_asr:
                self.listening = False
                return []
            effects = self.leave()
            self.listening, self.hearing, self.page = True, "", None
            return effects
        if self.page is None:
            return []
        if intent is Intent.ACTION:  # one button: next page, then back to the first
            last = self.page.page_index == self.page.page_count - 1
            self.page = PageView(self.page.pages, 0) if last else self.page.next_page()
        elif intent in PAGING:
            self.page = self.page.on_button(PAGING[intent])
        return []

    def _ask(self, question: str) -> list[Message]:
        effects = cancel(self.generation)
        self.listening, self.hearing, self.page = False, "", None
        self.question = self.ctx.layout.clean(question.strip())
        self.recipient = message_recipient(self.question)
        if not self.ctx.has_llm:
            self.generation = None
            self.page = self.ctx.layout.page_view(
                f"{self.question}\n(no language model: {self.ctx.hint(LLM_HINT)})"
            )
            return effects
        o = self.ctx.options
        context = self.ctx.last_read_text if o.use_read_context else ""
        request, self.generation = self.ctx.request(
            assistant_messages(self.question, o.answer_max_chars, context)
        )
        return [*effects, request]

    def _show_answer(self) -> None:
        g = self.generation
        if g is None:
            return
        text = self.ctx.answer_text(g, self.ctx.options.answer_max_chars)
        if g.done:
            self.generation = None
        if not text:
            return
        if self.recipient is not None:
            text = f"To {self.recipient}: {text}"
        index = self.page.page_index if self.page is not None else 0
        self.page = self.ctx.page_view(text, index)
