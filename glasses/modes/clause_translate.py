"""Translate mode, clause by clause: captions that keep pace with the speaker.

Each partial transcript's settled prefix is cut into clauses (``glasses.modes.clauses``); a
clause is translated at once, with the earlier clauses of the utterance as context in a prompt
that shares its prefix with the previous one (``clause_prompts``), and its translation becomes
final caption text on the utterance's line. The final transcript only translates what is left.
Between commits the uncommitted tail (plus a few unsettled words) is re-translated; the words
the last translations agree on (``agreement``) are drawn settled, the rest dim; not while the
power stage saves power (``ctx.saving``), when the tail is shown as heard. Which request
runs is up to ``ClauseScheduler``. Pure: messages in, effects and a view out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from glasses.display.views import CaptionView
from glasses.modes.agreement import LocalAgreement
from glasses.modes.base import Generation, ModeContext
from glasses.modes.clause_prompts import clause_messages
from glasses.modes.clause_schedule import ClauseScheduler, Decision, Job
from glasses.modes.clauses import (
    ClausePolicy,
    aligned_end,
    clause_end,
    head_words,
    join_text,
    word_spans,
)
from glasses.modes.prompts import guess_language, translate_messages
from glasses.pipeline.messages import (
    CancelLlm,
    FinalTranscript,
    LlmDelta,
    LlmDone,
    Message,
    PartialTranscript,
)

_LEADING_MARKS = ",.;:!?，。；：！？、 "


class ClauseTranslator:
    """The clause-by-clause half of translate mode (``translate.commit = "clause"``)."""

    def __init__(
        self, ctx: ModeContext, policy: ClausePolicy, target: Callable[[str], str]
    ) -> None:
        self.ctx, self.policy = ctx, policy
        self._target = target  # source language -> the language to caption it in
        self.scheduler = ClauseScheduler(policy.max_queued)
        self.agreement = LocalAgreement(policy.agreement)
        self.captions = CaptionView(max_lines=ctx.options.caption_lines)
        self.generation: Generation | None = None
        self.job: Job | None = None
        self.turn = 0  # the utterance being spoken
        self.line_turn = -1  # the utterance whose translations the last caption line holds
        self.committed = ""  # source text of this utterance already committed
        self.context: list[str] = []  # its committed clauses
        self.language = ""
        self.proposed = ""  # the tail last sent for re-translation
        self.tentative = ""  # the newest tentative translation, and its agreed prefix
        self.settled = ""
        self.hearing = ""

    # -- messages -----------------------------------------------------------------------------

    def on_partial(self, msg: PartialTranscript) -> list[Message]:
        text, stable = self.ctx.layout.clean(msg.text), self.ctx.layout.clean(msg.stable)
        self.hearing = text
        if not stable or not text.startswith(stable):
            stable = ""
        self.language = msg.language or self.language or guess_language(text)
        start = aligned_end(self.committed, stable) if stable else 0
        pending = stable[start:] if start < len(stable) else ""
        cut = clause_end(pending, msg.pause_s, self.policy)
        effects: list[Message] = []
        if cut:
            effects += self._commit(pending[:cut].strip(), last=False)
            self.committed = stable[: start + cut]
            pending = pending[cut:]
        if self.ctx.saving:  # saving power: committed clauses only, no re-translations
            self.scheduler.forget_tentative()
            self._drop_tentative()
        elif self.policy.tentative:
            unsettled = text[len(stable) :] if stable else text[aligned_end(self.committed, text) :]
            tail = join_text(pending, head_words(unsettled, self.policy.lookahead_words))
            if tail and tail != self.proposed:
                self.proposed = tail
                job = Job("tentative", tail, tuple(self.context), self.language, self.turn)
                effects += self._carry_out(self.scheduler.propose(job))
        return effects

    def on_final(self, msg: FinalTranscript) -> list[Message]:
        text = self.ctx.layout.clean(msg.text)
        self.language = msg.language or self.language or guess_language(text)
        rest = text[aligned_end(self.committed, text) :].strip()
        self.scheduler.forget_tentative()
        effects = self._commit(rest, last=True) if rest else []
        if not rest:  # nothing left to translate: the dim tail has nothing to become
            self._drop_tentative()
        self.turn += 1
        self.committed, self.context, self.proposed, self.hearing = "", [], "", ""
        return effects

    def on_llm(self, msg: LlmDelta | LlmDone) -> list[Message]:
        g, job = self.generation, self.job
        if g is None or job is None or not g.absorb(msg) or not g.done:
            return []
        self.generation = self.job = None
        if isinstance(msg, LlmDone) and not msg.cancelled:
            self._show(job, g)
        return self._carry_out(self.scheduler.finished(g.request_id))

    def clear(self) -> list[Message]:
        """Stop everything and forget what waits (the caption lines stay)."""
        effects = self._carry_out(self.scheduler.clear())
        self.generation = self.job = None
        self.turn += 1
        self.committed, self.context, self.proposed, self.hearing = "", [], "", ""
        self._drop_tentative()
        return effects

    # -- what is shown ------------------------------------------------------------------------

    def view(self) -> CaptionView:
        if self.tentative:
            return self.captions.with_partial(self.tentative, self.settled)
        g = self.generation
        if g is not None and self.job is not None and self.job.kind == "clause" and g.text:
            return self.captions.with_partial(self.ctx.screen_text(g.text))
        return self.captions.with_partial(self.hearing)

    def _show(self, job: Job, g: Generation) -> None:
        text = self.ctx.screen_text(g.text)
        if job.kind == "tentative":
            if job.turn == self.turn:  # a re-translation of an utterance that ended is stale
                self.settled = self.agreement.push(text)
                self.tentative = self.agreement.latest
            return
        if g.error:
            text = f"{text}… (translation failed)" if text else "(translation failed)"
        self._append(job.turn, text)
        # The tentative line translated this clause and more: keep only the part after it.
        if self.tentative.startswith(text) and job.turn == self.turn:
            self.tentative = self.tentative[len(text) :].strip()
            self.settled = self.settled[len(text) :].strip() if self.settled else ""
            if not self.tentative.startswith(self.settled):
                self.settled = ""
        else:
            self._drop_tentative()

    def _append(self, turn: int, text: str) -> None:
        final = self.captions.final
        if turn == self.line_turn and final:
            self.captions = replace(self.captions, final=(*final[:-1], join_text(final[-1], text)))
        else:
            self.captions = self.captions.with_final(text)
        self.line_turn = turn

    def _drop_tentative(self) -> None:
        self.agreement.reset()
        self.tentative = self.settled = ""

    # -- requests -----------------------------------------------------------------------------

    def _commit(self, clause: str, *, last: bool) -> list[Message]:
        clause = clause.lstrip(_LEADING_MARKS)  # a mark left behind by a length cut
        if not clause:
            return []
        job = Job("clause", clause, tuple(self.context), self.language, self.turn, last)
        self.context.append(clause)
        self.agreement.reset()  # the tail changed: agreement starts again
        decision = self.scheduler.commit(job)
        for lost in decision.dropped:  # the model is far behind: show what was said
            self._append(lost.turn, f"{lost.source}…")
        return self._carry_out(decision)

    def _carry_out(self, decision: Decision) -> list[Message]:
        effects: list[Message] = []
        if decision.cancel is not None:
            effects.append(CancelLlm(decision.cancel))
            if self.generation is not None and self.generation.request_id == decision.cancel:
                self.generation = self.job = None
        if decision.start is not None:
            job = decision.start
            target = self._target(job.language)
            if job.last and not job.context:  # a whole utterance: today's prompt and length
                request, self.generation = self.ctx.request(
                    translate_messages(job.source, job.language, target)
                )
            else:  # output bound to the clause: a runaway reply cannot hold up the next one
                tokens = min(self.ctx.options.max_new_tokens, 16 + 3 * len(word_spans(job.source)))
                messages = clause_messages(job.context, job.source, job.language, target)
                request, self.generation = self.ctx.request(messages, tokens)
            self.job = job
            self.scheduler.started(request.request_id, job)
            effects.append(request)
        return effects
