"""Read: a press captures a still, sharp frame; OCR reads it; the model translates or summarises
it to fit the screen. Swipes page through the result.

The OCR text is shown as soon as it is read and replaced by the model's version as that
streams in. LOOK (swipe up) asks a vision-language model about the same still instead
(:mod:`glasses.modes.look`); its answer is shown until the next read press. Without a model the OCR text stays, untranslated, with the command that fetches
one. The text read last is kept for the assistant (as context for a question about it).
"""

from __future__ import annotations

from typing import Literal

from glasses.display.views import BodyView, Mode, PageView, TextView
from glasses.modes.base import (
    LLM_HINT,
    PAGING,
    Generation,
    ModeContext,
    ModeLogic,
    absorb,
    cancel,
)
from glasses.modes.look import Look
from glasses.modes.prompts import guess_language, read_messages
from glasses.pipeline.messages import (
    CaptureRequest,
    Intent,
    LlmDelta,
    LlmDone,
    Message,
    OcrText,
    UserInput,
)

PROMPT = "press to read a sign"
READING = "reading…"


def read_action(
    configured: Literal["auto", "translate", "summarise"], text: str, target_lang: str
) -> Literal["translate", "summarise"]:
    """``auto``: translate text in another language, summarise text already in the target."""
    if configured != "auto":
        return configured
    return "summarise" if guess_language(text) == target_lang else "translate"


class ReadMode(ModeLogic):
    mode = Mode.READ

    def __init__(self, ctx: ModeContext) -> None:
        super().__init__(ctx)
        self.capture_id: int | None = None
        self.generation: Generation | None = None
        self.ocr_text = ""
        self.page: PageView | None = None
        self.note = ""  # one-line state when there is no page: errors, hints
        self.look = Look(ctx)  # shares the capture; in front while look.active

    def handle(self, msg: Message) -> list[Message]:
        if isinstance(msg, UserInput):
            return self._on_input(msg)
        if isinstance(msg, OcrText) and msg.request_id == self.capture_id:
            return self._on_text(msg)
        if isinstance(msg, LlmDelta | LlmDone) and absorb(self.generation, msg):
            self._show_generation()
            return []
        return self.look.handle(msg)

    def leave(self) -> list[Message]:
        effects = cancel(self.generation)
        if effects:
            self._show_page(self.ocr_text)
        self.generation = None
        return [*effects, *self.look.stop()]

    def body(self) -> BodyView:
        if self.look.active:
            return self.look.body()
        if self.capture_id is not None:
            return TextView(READING)
        if self.page is not None:
            return self.page
        lines = [PROMPT] if self.ctx.has_camera else ["no camera: set camera.source"]
        if self.note:
            lines.insert(0, self.note)
        return TextView("\n".join(lines))

    def _on_input(self, msg: UserInput) -> list[Message]:
        intent = msg.intent
        if intent is Intent.LOOK:
            effects = cancel(self.generation)
            self.generation, self.capture_id = None, None
            return [*effects, *self.look.press(msg.at_s)]
        if intent in PAGING and self.look.active:
            if self.look.page is not None:
                self.look.page = self.look.page.on_button(PAGING[intent])
            return []
        if intent in PAGING and self.page is not None:
            self.page = self.page.on_button(PAGING[intent])
        if intent is not Intent.ACTION or not self.ctx.has_camera:
            return []
        effects = self.leave()
        self.look.active = False
        self.capture_id = self.ctx.new_request_id()
        return [*effects, CaptureRequest(self.capture_id)]

    def _on_text(self, read: OcrText) -> list[Message]:
        self.capture_id = None
        text = self.ctx.layout.clean(read.text.strip())
        if read.error or not text:
            self.page = None
            self.note = f"could not read: {read.error}" if read.error else "no text found"
            return []
        self.ctx.last_read_text = text
        self.ocr_text = text
        if not self.ctx.has_llm:
            self._show_page(f"{text}\n(untranslated; {self.ctx.hint(LLM_HINT)})")
            return []
        o = self.ctx.options
        action = read_action(o.read_action, text, o.read_language)
        request, self.generation = self.ctx.request(
            read_messages(text, action, o.read_language, o.read_max_chars)
        )
        self._show_page(text)
        return [request]

    def _show_generation(self) -> None:
        g = self.generation
        if g is None:
            return
        text = self.ctx.screen_text(g.text)
        if g.done:
            self.generation = None
            if g.error or not text:
                text = f"{self.ocr_text}\n(not translated: {g.error or 'no reply'})"
        if text:
            self._show_page(text, keep_index=True)

    def _show_page(self, text: str, keep_index: bool = False) -> None:
        index = self.page.page_index if keep_index and self.page is not None else 0
        self.page = self.ctx.page_view(text, index)
        self.note = ""
