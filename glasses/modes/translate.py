"""Translate: speech in one language, captions in the other, streamed token by token.

The recogniser names the language it heard; speech in the first configured language is
translated into the second and the other way round (zh -> en and en -> zh by default); any
other language goes into the second. Translations are committed as caption lines; while one
streams, it is the dim partial line, and while nothing streams the partial line shows the
speech being heard, in its own language.

With ``translate.commit = "clause"`` (the default) clauses are translated while the speaker
goes on (``glasses.modes.clause_translate``). With ``"utterance"`` each utterance is translated
once it ends; one translation runs at a time and none waits: when an utterance ends while the
previous one is still being translated, that translation is stale and is cancelled (what it had
produced stays, marked with "…"). So nothing piles up when the model is slower than the speaker.
"""

from __future__ import annotations

from glasses.display.views import BodyView, CaptionView, Mode, TextView
from glasses.modes.base import (
    ASR_HINT,
    LLM_HINT,
    Generation,
    ModeContext,
    ModeLogic,
    absorb,
    cancel,
)
from glasses.modes.clause_translate import ClauseTranslator
from glasses.modes.prompts import guess_language, language_name, translate_messages
from glasses.pipeline.messages import (
    FinalTranscript,
    Intent,
    LlmDelta,
    LlmDone,
    Message,
    PartialTranscript,
    SpeechActivity,
    UserInput,
)

_FAMILY = {"yue": "zh"}  # Cantonese captions pair like Mandarin ones


def target_language(heard: str, languages: tuple[str, str]) -> str:
    """The language to translate speech in ``heard`` into."""
    first, second = languages
    heard = _FAMILY.get(heard, heard)
    return first if heard == second else second


class TranslateMode(ModeLogic):
    mode = Mode.TRANSLATE

    def __init__(self, ctx: ModeContext) -> None:
        super().__init__(ctx)
        self.captions = CaptionView(max_lines=ctx.options.caption_lines)
        self.generation: Generation | None = None
        self.hearing = ""  # partial transcript of the utterance being spoken
        policy = ctx.options.clauses
        self.clauses = (
            ClauseTranslator(ctx, policy, self._target)
            if policy.by_clause and ctx.has_llm
            else None
        )

    def _target(self, heard: str) -> str:
        return target_language(heard, self.ctx.options.languages)

    def handle(self, msg: Message) -> list[Message]:
        if self.clauses is not None:
            if isinstance(msg, LlmDelta | LlmDone):
                return self.clauses.on_llm(msg)
            if isinstance(msg, PartialTranscript):
                return self.clauses.on_partial(msg)
            if isinstance(msg, FinalTranscript):
                return self.clauses.on_final(msg) if msg.text.strip() else []
            if isinstance(msg, UserInput) and msg.intent is Intent.ACTION:
                effects = self.clauses.clear()
                self.clauses.captions = self.clauses.captions.cleared()
                return effects
        if isinstance(msg, LlmDelta | LlmDone):
            if absorb(self.generation, msg):
                self._finish_if_done()
        elif isinstance(msg, PartialTranscript):
            self.hearing = self.ctx.layout.clean(msg.text)
        elif isinstance(msg, FinalTranscript) and msg.text.strip():
            return self._translate(msg)
        elif isinstance(msg, SpeechActivity) and not self.ctx.has_asr and not msg.speaking:
            self.captions = self.captions.with_final(f"(speech {msg.duration_s:.1f} s)")
        elif isinstance(msg, UserInput) and msg.intent is Intent.ACTION:
            self.captions = self.captions.cleared()
        return []

    def leave(self) -> list[Message]:
        if self.clauses is not None:
            return self.clauses.clear()
        effects = self._preempt()
        self.hearing = ""
        return effects

    def body(self) -> BodyView:
        streaming = self.generation is not None and not self.generation.done
        partial = (
            self.ctx.screen_text(self.generation.text) if streaming and self.generation else ""
        )
        if self.clauses is not None:
            view = self.clauses.view()
        else:
            view = self.captions.with_partial(partial or self.hearing)
        if view.final or view.partial:
            return view
        first, second = (language_name(code) for code in self.ctx.options.languages)
        lines = [f"translate {first} / {second}", "listening…"]
        if not self.ctx.has_asr:
            lines.append(f"no speech model: {self.ctx.hint(ASR_HINT)}")
        elif not self.ctx.has_llm:
            lines.append(f"no language model: {self.ctx.hint(LLM_HINT)}")
        return TextView("\n".join(lines))

    def _translate(self, heard: FinalTranscript) -> list[Message]:
        effects = self._preempt()
        self.hearing = ""
        text = self.ctx.layout.clean(heard.text)
        if not self.ctx.has_llm:  # nothing to translate with: show what was said
            self.captions = self.captions.with_final(text)
            return effects
        source = heard.language or guess_language(text)
        target = target_language(source, self.ctx.options.languages)
        request, self.generation = self.ctx.request(translate_messages(text, source, target))
        return [*effects, request]

    def _preempt(self) -> list[Message]:
        effects = cancel(self.generation)
        if effects and self.generation is not None:
            done_so_far = self.ctx.screen_text(self.generation.text)
            if done_so_far:
                self.captions = self.captions.with_final(done_so_far + "…")
        self.generation = None
        return effects

    def _finish_if_done(self) -> None:
        g = self.generation
        if g is None or not g.done:
            return
        text = self.ctx.screen_text(g.text)
        if g.error:
            text = f"{text}… (translation failed)" if text else "(translation failed)"
        self.captions = self.captions.with_final(text)
        self.generation = None
