"""Translate mode clause by clause, as a pure state machine (time as data), and the prompt
layout's prefix reuse counted by the real engine on a tiny model."""

from __future__ import annotations

from typing import Any

import pytest
from modes_support import FakeLayout

from glasses.display.views import CaptionView, Mode
from glasses.modes.base import ModeContext, ModeOptions
from glasses.modes.clauses import ClausePolicy
from glasses.modes.translate import TranslateMode
from glasses.pipeline.messages import (
    CancelLlm,
    FinalTranscript,
    LlmDone,
    LlmRequest,
    Message,
    PartialTranscript,
)

pytestmark = pytest.mark.fast


def mode(**policy: Any) -> TranslateMode:
    options = ModeOptions(languages=("zh", "en"), clauses=ClausePolicy(**policy))
    m = TranslateMode(ModeContext(FakeLayout(200), options))
    assert m.mode is Mode.TRANSLATE
    return m


def requests(effects: list[Message]) -> list[LlmRequest]:
    return [e for e in effects if isinstance(e, LlmRequest)]


def data_lines(request: LlmRequest) -> list[str]:
    content = request.messages[-1].content
    return content.split("\n</data>")[0].split("\n")[1:]


def partial(text: str, stable: str, pause_s: float = 0.0, at_s: float = 0.0) -> Message:
    return PartialTranscript(text, stable, "en", at_s, pause_s)


def test_a_settled_clause_is_translated_before_the_utterance_ends() -> None:
    m = mode(tentative=False)
    assert m.handle(partial("Next stop, West", "Next stop", at_s=1.0)) == []
    (first,) = requests(m.handle(partial("Next stop, West Lake", "Next stop, West", at_s=1.2)))
    assert data_lines(first) == ["Next stop,"] and "into Chinese" in first.messages[-1].content
    m.handle(LlmDone(first.request_id, "下一站，"))
    assert m.body() == CaptionView(final=("下一站，",), partial="Next stop, West Lake")
    # The final transcript translates only what is left, with the clause before as context.
    (rest,) = requests(m.handle(FinalTranscript("Next stop, West Lake.", "en", 2.0)))
    assert data_lines(rest) == ["Next stop,", "West Lake."]
    m.handle(LlmDone(rest.request_id, "西湖。"))
    assert m.body() == CaptionView(final=("下一站，西湖。",))


def test_a_pause_inside_the_utterance_commits_the_settled_words() -> None:
    m = mode(tentative=False, pause_s=0.3)
    assert m.handle(partial("Next stop West Lake", "Next stop West Lake", pause_s=0.1)) == []
    (request,) = requests(m.handle(partial("Next stop West Lake", "Next stop West Lake", 0.3)))
    assert data_lines(request) == ["Next stop West Lake"]


def test_whole_utterance_policy_waits_for_the_end_as_before() -> None:
    m = mode(commit="utterance")
    assert m.handle(partial("Next stop, West Lake", "Next stop, West", pause_s=2.0)) == []
    (request,) = requests(m.handle(FinalTranscript("Next stop, West Lake.", "en", 2.0)))
    assert "Translate the speech above from English" in request.messages[-1].content


def test_a_short_utterance_without_commits_gets_the_whole_utterance_prompt() -> None:
    (request,) = requests(mode().handle(FinalTranscript("下一站是西湖", "zh", 1.0)))
    assert "Translate the speech above from Chinese into English" in request.messages[-1].content


def test_tentative_words_are_settled_only_when_two_translations_agree() -> None:
    m = mode(lookahead_words=1)
    (t1,) = requests(m.handle(partial("Next stop West", "Next")))
    assert data_lines(t1) == ["Next stop"]  # the settled word and one unsettled
    m.handle(LlmDone(t1.request_id, "下一"))
    assert m.body() == CaptionView(partial="下一", settled=0)  # dim: nothing agreed yet
    (t2,) = requests(m.handle(partial("Next stop West Lake", "Next stop")))
    m.handle(LlmDone(t2.request_id, "下一站 西"))
    view = m.body()
    assert isinstance(view, CaptionView) and view.partial == "下一站 西"
    assert view.settled == len("下一")  # the two agree on 下一 (each character a word)


def test_a_clause_preempts_the_running_retranslation_but_never_the_reverse() -> None:
    m = mode(lookahead_words=2)
    (t1,) = requests(m.handle(partial("Next stop West", "Next")))
    effects = m.handle(partial("Next stop, West Lake", "Next stop, West"))
    cancel, clause = effects[0], effects[1]
    assert cancel == CancelLlm(t1.request_id)
    assert isinstance(clause, LlmRequest) and data_lines(clause) == ["Next stop,"]
    # While the clause runs, newer speech asks for re-translation but cancels nothing.
    later = m.handle(partial("Next stop, West Lake is", "Next stop, West Lake"))
    assert not any(isinstance(e, CancelLlm) for e in later) and not requests(later)
    m.handle(LlmDone(t1.request_id, "", cancelled=True))  # the cancelled one's late end
    (tentative,) = requests(m.handle(LlmDone(clause.request_id, "下一站，")))
    assert data_lines(tentative) == ["Next stop,", "West Lake is"]


def test_clauses_queue_in_order_while_the_model_is_busy() -> None:
    m = mode(tentative=False, max_words=2)
    (a,) = requests(m.handle(partial("one two three", "one two three")))
    assert requests(m.handle(partial("one two three four five", "one two three four five"))) == []
    (b,) = requests(m.handle(LlmDone(a.request_id, "一二")))
    assert data_lines(b) == ["one two", "three four"]
    m.handle(LlmDone(b.request_id, "三四"))
    assert m.body() == CaptionView(final=("一二三四",), partial="one two three four five")


def test_clearing_cancels_the_running_clause_and_forgets_the_queue() -> None:
    from glasses.pipeline.messages import Intent, UserInput

    m = mode(tentative=False, max_words=1)
    (a,) = requests(m.handle(partial("one two", "one two")))
    assert m.handle(UserInput(Intent.ACTION)) == [CancelLlm(a.request_id)]
    assert requests(m.handle(LlmDone(a.request_id, "", cancelled=True))) == []
    assert m.body() != CaptionView(final=("一",))


def test_saving_power_drops_the_re_translations_but_still_translates_clauses() -> None:
    from glasses.display.views import LlmSource
    from glasses.modes.controller import Controller
    from glasses.pipeline.messages import PowerNotice

    options = ModeOptions(languages=("zh", "en"), clauses=ClausePolicy(lookahead_words=1))
    ctx = ModeContext(FakeLayout(200), options)
    c = Controller(ctx, [Mode.TRANSLATE], Mode.TRANSLATE, LlmSource.LOCAL)
    m = c.current
    assert isinstance(m, TranslateMode) and m.clauses is not None
    (t1,) = requests(c.handle(partial("Next stop West", "Next")))  # a tentative request
    m.handle(LlmDone(t1.request_id, "下一"))
    assert m.clauses.tentative == "下一"
    # The power stage says saving (a low battery): the controller tells the modes.
    c.handle(PowerNotice(("SAVING",), saving=True))
    assert ctx.saving and c.status.alerts == ("SAVING",)
    effects = c.handle(partial("Next stop, West Lake", "Next stop, West"))
    (clause,) = requests(effects)  # the settled clause, and no re-translation of the tail
    assert data_lines(clause) == ["Next stop,"]
    assert m.clauses.scheduler.waiting_tentative is None
    view = m.body()  # the dim tentative tail is gone: the words as heard instead
    assert isinstance(view, CaptionView) and view.partial == "Next stop, West Lake"
    m.handle(LlmDone(clause.request_id, "下一站，"))
    assert requests(c.handle(partial("Next stop, West Lake is", "Next stop, West Lake"))) == []
    # Saving ends: re-translations come back.
    c.handle(PowerNotice())
    assert not ctx.saving
    (t2,) = requests(c.handle(partial("Next stop, West Lake is near", "Next stop, West Lake")))
    assert data_lines(t2)[-1] == "West Lake is"


def test_the_translate_settings_make_the_clause_policy() -> None:
    from glasses.runtime.parts import clause_policy
    from glasses.settings import load_settings

    # The documented defaults (README's configuration table) are the policy's own.
    assert clause_policy(load_settings()) == ClausePolicy()
    overrides = [
        "translate.commit=utterance",
        "translate.clause_pause_s=0.6",
        "translate.clause_max_words=7",
        "translate.tentative=false",
        "translate.agreement=3",
        "translate.lookahead_words=0",
    ]
    assert clause_policy(load_settings(overrides=overrides)) == ClausePolicy(
        commit="utterance",
        pause_s=0.6,
        max_words=7,
        tentative=False,
        agreement=3,
        lookahead_words=0,
    )
