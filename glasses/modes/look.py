"""LOOK: "what is this?" about what the camera sees, answered by a vision-language model.

A LOOK (swipe up, or ``glasses mode look``) takes the same still, sharp frame a read press
takes, as a JPEG (:class:`StillImage`), and asks the model ``look.prompt`` about it. Speech
that starts within ``look.question_window_s`` of the press is the wearer's own question: the
ask waits for it while the picture is taken, or, asked already, is asked again with the
question (the engine keeps the encoded picture, so only the words are new). The screen says
"looking…" until the first words of the answer, which is paged like any other. A new LOOK
cancels the answer under way and looks again.

Without a vision model, LOOK reads the picture's text (OCR) and asks the text model about it,
and the answer says so. A pure state machine: :class:`glasses.modes.read.ReadMode` owns one
and hands it the messages and intents that concern it.
"""

from __future__ import annotations

from typing import Final

from glasses.display.views import BodyView, PageView, TextView
from glasses.modes.base import Generation, ModeContext, absorb, cancel
from glasses.modes.prompts import look_messages, look_text_messages
from glasses.pipeline.messages import (
    CaptureRequest,
    FinalTranscript,
    LlmDelta,
    LlmDone,
    Message,
    OcrText,
    PartialTranscript,
    SpeechActivity,
    StillImage,
)

LOOKING: Final = "looking…"
NO_VISION: Final = "no vision model: read its text"
VLM_HINT: Final = "glasses models pull qwen2-vl-2b-instruct-int4"


class Look:
    """One LOOK at a time: its capture, question, answer and page."""

    def __init__(self, ctx: ModeContext) -> None:
        self.ctx = ctx
        self.active = False  # shown in front of the read page (since a LOOK, until a read)
        self.capture_id: int | None = None
        self.pressed_at_s = 0.0
        self.image = b""  # the JPEG looked at (kept for a spoken question)
        self.read_text = ""  # without a vision model: the text OCR read in the picture
        self.question = ctx.options.look_prompt
        self.spoken = False  # the question came from the wearer, not the setting
        self.hearing = ""  # the wearer is asking (partial text; "…" before any)
        self.generation: Generation | None = None
        self.answer = ""  # the model's whole last answer, as it came
        self.page: PageView | None = None
        self.note = ""

    def press(self, at_s: float) -> list[Message]:
        """A LOOK: stop what is under way, take a new still."""
        effects = self.stop()
        self.active, self.pressed_at_s = True, at_s
        self.image, self.read_text, self.page, self.note = b"", "", None, ""
        self.question, self.spoken, self.hearing = self.ctx.options.look_prompt, False, ""
        if not self.ctx.has_camera:
            self.note = "no camera: set camera.source"
            return effects
        if not (self.ctx.has_vision or self.ctx.has_llm):
            self.note = f"no vision model: {self.ctx.hint(VLM_HINT)}"
            return effects
        self.capture_id = self.ctx.new_request_id()
        if not self.ctx.has_vision:  # the fallback: read the picture's text
            return [*effects, CaptureRequest(self.capture_id, "read")]
        return [*effects, CaptureRequest(self.capture_id, "look")]

    def stop(self) -> list[Message]:
        """Cancel the capture and answer under way (what was shown stays)."""
        effects = cancel(self.generation)
        if self.generation is not None:
            self.generation.done = True
            self._show()
        self.generation, self.capture_id, self.hearing = None, None, ""
        return effects

    def handle(self, msg: Message) -> list[Message]:
        if isinstance(msg, StillImage | OcrText) and msg.request_id == self.capture_id:
            return self._on_capture(msg)
        if isinstance(msg, LlmDelta | LlmDone) and absorb(self.generation, msg):
            self._show()
        elif self.active and not self.spoken and self.ctx.has_asr:
            return self._on_speech(msg)
        return []

    def body(self) -> BodyView:
        waiting = self.capture_id is not None or (
            self.generation is not None and not self.generation.text
        )
        if self.hearing or waiting:
            lines = [LOOKING, self.hearing or (self.question if self.spoken else "")]
            return TextView("\n".join(line for line in lines if line))
        if self.page is not None:
            return self.page
        return TextView(self.note or LOOKING)

    def _on_capture(self, msg: StillImage | OcrText) -> list[Message]:
        self.capture_id = None
        if msg.error:
            self.note = f"could not look: {msg.error}"
            return []
        if isinstance(msg, StillImage):
            self.image = msg.jpeg
        else:
            self.read_text = self.ctx.layout.clean(msg.text.strip())
            if not self.read_text:
                self.note = f"{NO_VISION}: no text found; {self.ctx.hint(VLM_HINT)}"
                return []
        return [] if self.hearing else self._ask()

    def _on_speech(self, msg: Message) -> list[Message]:
        window_s = self.ctx.options.look_question_window_s
        if isinstance(msg, SpeechActivity) and msg.speaking:
            if 0 <= msg.at_s - self.pressed_at_s <= window_s:
                self.hearing = self.hearing or "…"
        elif isinstance(msg, PartialTranscript) and self.hearing:
            self.hearing = self.ctx.layout.clean(msg.text) or "…"
        elif isinstance(msg, FinalTranscript):
            started_s = (msg.speech_end_at_s or msg.at_s) - msg.duration_s
            asked = bool(self.hearing) or 0 <= started_s - self.pressed_at_s <= window_s
            self.hearing = ""
            text = self.ctx.layout.clean(msg.text.strip())
            if asked and text:
                self.question, self.spoken = text, True
            ready = self.capture_id is None and (self.image or self.read_text)
            if ready and (self.spoken or (self.generation is None and self.page is None)):
                return self._ask()
        return []

    def _ask(self) -> list[Message]:
        effects = cancel(self.generation)
        o = self.ctx.options
        if self.image:
            messages = look_messages(
                self.question, self.image, o.look_max_chars, spoken=self.spoken
            )
        else:
            messages = look_text_messages(
                self.question, self.read_text, o.look_max_chars, spoken=self.spoken
            )
        request, self.generation = self.ctx.request(messages)
        self.page = None
        return [*effects, request]

    def _show(self) -> None:
        g = self.generation
        if g is None:
            return
        text = self.ctx.answer_text(g, self.ctx.options.look_max_chars)
        if g.done:
            self.generation, self.answer = None, g.text
        if not text:
            return
        if not self.image:  # the fallback says what it did
            text = f"({NO_VISION})\n{text}"
        index = self.page.page_index if self.page is not None else 0
        self.page = self.ctx.page_view(text, index)
