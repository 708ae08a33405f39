"""Captions: what is said, as it is recognised. Partial text is shown dim and revised as the
recogniser hears more; a finished utterance is committed.

Without a speech recogniser the mode still shows that it hears speech (and how long each
utterance was), with the command that fetches the model.
"""

from __future__ import annotations

from glasses.display.views import BodyView, CaptionView, Mode, TextView
from glasses.modes.base import ASR_HINT, ModeContext, ModeLogic
from glasses.pipeline.messages import (
    FinalTranscript,
    Intent,
    Message,
    PartialTranscript,
    SpeechActivity,
    UserInput,
)

LISTENING = "listening…"
SPEAKING = "(speech…)"


class CaptionsMode(ModeLogic):
    mode = Mode.CAPTIONS

    def __init__(self, ctx: ModeContext) -> None:
        super().__init__(ctx)
        self.captions = CaptionView(max_lines=ctx.options.caption_lines)

    def handle(self, msg: Message) -> list[Message]:
        c = self.captions
        if isinstance(msg, PartialTranscript):
            clean = self.ctx.layout.clean
            self.captions = c.with_partial(clean(msg.text), clean(msg.stable))
        elif isinstance(msg, FinalTranscript):
            self.captions = c.with_final(self.ctx.layout.clean(msg.text))
        elif isinstance(msg, SpeechActivity) and not self.ctx.has_asr:
            # Speech without a recogniser: show the activity, so the pipeline is seen to work.
            if msg.speaking:
                self.captions = c.with_partial(SPEAKING)
            else:
                self.captions = c.with_final(f"(speech {msg.duration_s:.1f} s)")
        elif isinstance(msg, UserInput) and msg.intent is Intent.ACTION:
            self.captions = c.cleared()
        return []

    def body(self) -> BodyView:
        if self.captions.final or self.captions.partial:
            return self.captions
        if not self.ctx.has_asr:
            return TextView(f"{LISTENING}\nno speech model: {self.ctx.hint(ASR_HINT)}")
        return TextView(LISTENING)
