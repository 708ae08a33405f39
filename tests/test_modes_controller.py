"""The modes and the controller as pure state machines: messages in, effects and screens out.

No devices, models, threads or clocks: a fixed-width fake layout stands in for the font.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from modes_support import FakeLayout, effects

from glasses.display.views import CaptionView, LinkState, LlmSource, Mode, PageView, TextView
from glasses.modes.base import ModeContext, ModeOptions
from glasses.modes.clauses import ClausePolicy
from glasses.modes.controller import Controller
from glasses.pipeline.messages import (
    AskText,
    Battery,
    CancelLlm,
    CaptureRequest,
    FinalTranscript,
    Intent,
    LlmDelta,
    LlmDone,
    LlmRequest,
    OcrText,
    PartialTranscript,
    PeripheralState,
    ScreenUpdate,
    SetMode,
    SpeechActivity,
    UserInput,
)

pytestmark = pytest.mark.fast

ALL = (Mode.CAPTIONS, Mode.TRANSLATE, Mode.READ, Mode.ASSIST)


def make(
    start: Mode = Mode.CAPTIONS,
    *,
    asr: bool = True,
    llm: bool = True,
    camera: bool = True,
    enabled: Sequence[Mode] = ALL,
    options: ModeOptions | None = None,
) -> Controller:
    ctx = ModeContext(FakeLayout(missing="☃"), options, has_asr=asr, has_llm=llm, has_camera=camera)
    return Controller(ctx, enabled, start, LlmSource.LOCAL if llm else LlmSource.NONE)


def body(c: Controller) -> object:
    assert c.screen is not None
    return c.screen.body


def final(text: str, language: str = "en") -> FinalTranscript:
    return FinalTranscript(text, language, 1.0, at_s=5.0)


def test_screen_updates_only_on_change_and_carry_their_cause() -> None:
    c = make()
    first = c.handle(PeripheralState("display", True))
    assert len(first) == 1 and isinstance(first[0], ScreenUpdate)
    assert first[0].screen.status is not None and first[0].screen.status.link is LinkState.CONNECTED
    assert c.handle(PeripheralState("display", True)) == []  # nothing changed: no screen
    update = c.handle(final("hello"))[-1]
    assert isinstance(update, ScreenUpdate)
    assert (update.cause, update.cause_at_s) == ("FinalTranscript", 5.0)


def test_captions_partial_then_final() -> None:
    c = make()
    c.handle(PartialTranscript("hel", "", "en"))
    assert body(c) == CaptionView(partial="hel")
    c.handle(PartialTranscript("hello ☃wor", "hello ", "en"))  # the settled prefix is kept
    assert body(c) == CaptionView(partial="hello wor", settled=len("hello"))
    c.handle(final("hello ☃world"))
    assert body(c) == CaptionView(final=("hello world",))
    c.handle(UserInput(Intent.ACTION))  # press clears
    assert isinstance(body(c), TextView)


def test_captions_without_a_recogniser_show_speech_activity() -> None:
    c = make(asr=False)
    c.handle(PeripheralState("display", True))
    view = body(c)
    # The fake's 20-character lines cannot hold the pull command: it points to the doctor.
    assert isinstance(view, TextView) and view.text.endswith(
        "no speech model: see `glasses doctor`"
    )
    c.handle(SpeechActivity(True))
    assert body(c) == CaptionView(partial="(speech…)")
    c.handle(SpeechActivity(False, 1.25))
    assert body(c) == CaptionView(final=("(speech 1.2 s)",))


@pytest.mark.parametrize("mode", [Mode.TRANSLATE, Mode.ASSIST])
def test_hints_never_cut_a_command_where_no_line_holds_it(mode: Mode) -> None:
    """Every mode's missing-model hint goes through the one rule: a pull command that the
    20-character lines cannot hold becomes a pointer to the doctor, never "pull qwen3-0.6b-int"."""
    c = make(mode, asr=False, llm=mode is Mode.TRANSLATE)
    c.handle(PeripheralState("display", True))
    view = body(c)
    assert isinstance(view, TextView) and "no speech model: see `glasses doctor`" in view.text
    assert "models pull" not in view.text
    c = make(Mode.ASSIST, llm=False)
    c.handle(PeripheralState("display", True))
    view = body(c)
    assert isinstance(view, TextView) and view.text.endswith(
        "no language model: see `glasses doctor`"
    )
    effects(c, AskText("how much is a ticket?"))
    page = body(c)
    assert isinstance(page, PageView)
    shown = "\n".join(line for p in page.pages for line in p)
    # Pages draw the command without its backticks, its space a no-break one.
    assert "models pull" not in shown and "see glasses\u00a0doctor" in shown


def test_buttons_cycle_the_enabled_modes() -> None:
    c = make(enabled=(Mode.CAPTIONS, Mode.READ))
    seen = []
    for _ in range(3):
        c.handle(UserInput(Intent.NEXT_MODE))
        seen.append(c.mode)
        assert c.screen is not None and c.screen.status is not None
        assert c.screen.status.mode is c.mode
    assert seen == [Mode.READ, Mode.CAPTIONS, Mode.READ]
    c.handle(SetMode(Mode.ASSIST))  # not enabled: ignored
    assert c.mode is Mode.READ


def test_translate_streams_then_commits() -> None:
    c = make(Mode.TRANSLATE)
    (request,) = effects(c, final("下一站是西湖", "zh"))
    assert isinstance(request, LlmRequest)
    assert "from Chinese into English" in request.messages[-1].content
    c.handle(PartialTranscript("Please", "", "en"))  # speech goes on; the stream has priority
    c.handle(LlmDelta(request.request_id, "**Next** stop"))
    assert body(c) == CaptionView(partial="Next stop")
    c.handle(LlmDelta(request.request_id, ": West Lake"))
    c.handle(LlmDone(request.request_id, "**Next** stop: West Lake", source="remote"))
    assert body(c) == CaptionView(final=("Next stop: West Lake",), partial="Please")
    assert c.screen is not None and c.screen.status is not None
    assert c.screen.status.llm is LlmSource.REMOTE


def test_a_new_utterance_preempts_a_stale_translation() -> None:
    # translate.commit = "utterance"; clause commits are never cancelled (test_modes_clause_*)
    c = make(Mode.TRANSLATE, options=ModeOptions(clauses=ClausePolicy(commit="utterance")))
    (first,) = effects(c, final("第一句", "zh"))
    assert isinstance(first, LlmRequest)
    c.handle(LlmDelta(first.request_id, "First"))
    cancel, second = effects(c, final("second sentence", "en"))
    assert cancel == CancelLlm(first.request_id)
    assert isinstance(second, LlmRequest) and "into Chinese" in second.messages[-1].content
    # The cancelled one's late end changes nothing; its text so far stays, marked "…".
    c.handle(LlmDone(first.request_id, "First", cancelled=True))
    c.handle(LlmDone(second.request_id, "第二句"))
    assert body(c) == CaptionView(final=("First…", "第二句"))


def test_translate_without_a_model_shows_what_was_said() -> None:
    c = make(Mode.TRANSLATE, llm=False)
    assert effects(c, final("你好", "zh")) == []
    assert body(c) == CaptionView(final=("你好",))


def test_translation_failure_is_shown() -> None:
    c = make(Mode.TRANSLATE)
    (request,) = effects(c, final("你好", "zh"))
    assert isinstance(request, LlmRequest)
    c.handle(LlmDone(request.request_id, "", error="model crashed"))
    assert body(c) == CaptionView(final=("(translation failed)",))


def test_read_captures_reads_and_translates() -> None:
    c = make(Mode.READ)
    (capture,) = effects(c, UserInput(Intent.ACTION))
    assert isinstance(capture, CaptureRequest)
    assert body(c) == TextView("reading…")
    (request,) = effects(c, OcrText(capture.request_id, "出口\n2号线"))
    assert isinstance(request, LlmRequest)
    assert 'source="camera"' in request.messages[-1].content
    assert isinstance(body(c), PageView)  # the OCR text, while the model works
    c.handle(LlmDelta(request.request_id, "Exit, line 2. " * 6))
    c.handle(LlmDone(request.request_id, "Exit, line 2. " * 6))
    page = body(c)
    assert isinstance(page, PageView) and page.page_count > 1 and page.lines[0].startswith("Exit")
    c.handle(UserInput(Intent.PAGE_NEXT))
    assert isinstance(body(c), PageView) and body(c).page_index == 1  # type: ignore[attr-defined]
    assert c.ctx.last_read_text == "出口\n2号线"


def test_read_reports_failures_and_works_without_a_model() -> None:
    c = make(Mode.READ, llm=False)
    (capture,) = effects(c, UserInput(Intent.ACTION))
    assert isinstance(capture, CaptureRequest)
    c.handle(OcrText(capture.request_id, "", error="camera away"))
    view = body(c)
    assert isinstance(view, TextView) and "could not read: camera away" in view.text
    (capture,) = effects(c, UserInput(Intent.ACTION))
    assert isinstance(capture, CaptureRequest)
    assert effects(c, OcrText(capture.request_id, "EXIT")) == []
    page = body(c)
    assert isinstance(page, PageView) and page.lines[0] == "EXIT"
    assert any("untranslated" in line for p in page.pages for line in p)


def test_read_without_a_camera_says_so() -> None:
    c = make(Mode.READ, camera=False)
    assert effects(c, UserInput(Intent.ACTION)) == []
    view = body(c)
    assert isinstance(view, TextView) and "no camera" in view.text


def test_long_press_asks_the_assistant_from_any_mode() -> None:
    c = make(Mode.READ)
    c.ctx.last_read_text = "出口 EXIT"
    assert effects(c, UserInput(Intent.ASK)) == []
    assert c.mode is Mode.ASSIST
    view = body(c)
    assert isinstance(view, TextView) and view.text.startswith("listening")
    c.handle(PartialTranscript("what does", "", "en"))
    (request,) = effects(c, final("what does the sign say?"))
    assert isinstance(request, LlmRequest)
    content = request.messages[-1].content
    assert "出口 EXIT" in content and content.index("camera") < content.index("question")
    answer = "It says exit. " * 8
    for word in answer.split(" "):
        c.handle(LlmDelta(request.request_id, word + " "))
    c.handle(LlmDone(request.request_id, answer))
    page = body(c)
    assert isinstance(page, PageView) and page.page_count >= 2
    for index in [*range(1, page.page_count), 0]:  # press pages on, then wraps to the first
        c.handle(UserInput(Intent.ACTION))
        assert body(c).page_index == index  # type: ignore[attr-defined]
    c.handle(UserInput(Intent.PAGE_PREVIOUS))
    assert body(c).page_index == 0  # type: ignore[attr-defined]


def test_assistant_listening_can_be_stopped_and_needs_a_recogniser() -> None:
    c = make(Mode.ASSIST)
    c.handle(UserInput(Intent.ASK))
    c.handle(UserInput(Intent.ASK))
    view = body(c)
    assert isinstance(view, TextView) and view.text.startswith("long press")
    assert effects(c, final("not a question: not listening")) == []
    deaf = make(Mode.ASSIST, asr=False)
    deaf.handle(UserInput(Intent.ASK))
    view = body(deaf)
    assert isinstance(view, TextView) and "no speech model: see `glasses doctor`" in view.text


def test_assistant_drafts_a_message() -> None:
    c = make(Mode.ASSIST)
    (request,) = effects(c, AskText("tell Li I'm ten minutes late"))
    assert isinstance(request, LlmRequest)
    c.handle(LlmDone(request.request_id, "Sorry, ten minutes late!"))
    page = body(c)
    assert isinstance(page, PageView) and page.lines[0].startswith("To Li:")


def test_a_new_question_and_leaving_cancel_the_running_answer() -> None:
    c = make(Mode.ASSIST)
    (first,) = effects(c, AskText("one?"))
    assert isinstance(first, LlmRequest)
    cancel, second = effects(c, AskText("two?"))
    assert cancel == CancelLlm(first.request_id) and isinstance(second, LlmRequest)
    c.handle(LlmDelta(second.request_id, "Partial answer"))
    assert effects(c, UserInput(Intent.NEXT_MODE)) == [CancelLlm(second.request_id)]
    assert c.mode is Mode.CAPTIONS
    c.handle(SetMode(Mode.ASSIST))  # what had arrived is still there
    page = body(c)
    assert isinstance(page, PageView) and page.lines[0] == "Partial answer"


def test_status_bar_and_notices() -> None:
    c = make()
    c.handle(Battery(41, True))
    c.handle(PeripheralState("microphone", False, "unplugged"))
    assert c.screen is not None and c.screen.status is not None
    assert (c.screen.status.battery_percent, c.screen.status.charging) == (41, True)
    view = body(c)
    assert isinstance(view, TextView) and view.text.startswith("(microphone away")
    c.handle(PeripheralState("microphone", True))
    assert isinstance(body(c), TextView) and not body(c).text.startswith("(")  # type: ignore[attr-defined]
    c.handle(PeripheralState("display", False, "lost"))
    assert c.screen.status is not None and c.screen.status.link is LinkState.DISCONNECTED


def test_lost_microphone_and_camera_are_alerts_in_the_status_bar() -> None:
    c = make()
    c.handle(PeripheralState("camera", False, "unplugged"))
    c.handle(PeripheralState("microphone", False, "unplugged"))
    assert c.screen is not None and c.screen.status is not None
    assert c.screen.status.alerts == ("NO MIC", "NO CAM")  # a fixed order
    c.handle(PeripheralState("microphone", True))
    assert c.screen.status.alerts == ("NO CAM",)
    c.handle(PeripheralState("display", False, "lost"))  # the link has its own indicator
    assert c.screen.status.alerts == ("NO CAM",)
    c.handle(PeripheralState("camera", True))
    assert c.screen.status.alerts == ()
