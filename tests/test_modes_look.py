"""LOOK as a pure state machine in the controller: intents, captures, questions and answers in,
effects and screens out (no devices, models or clocks; a fixed-width fake layout)."""

from __future__ import annotations

from typing import TypeVar

import pytest
from modes_support import FakeLayout
from modes_support import effects as run

from glasses.display.views import LlmSource, Mode, PageView, TextView
from glasses.modes.base import ModeContext, ModeOptions
from glasses.modes.controller import Controller
from glasses.modes.look import LOOKING, NO_VISION
from glasses.pipeline.messages import (
    CancelLlm,
    CaptureRequest,
    FinalTranscript,
    Intent,
    LlmDelta,
    LlmDone,
    LlmRequest,
    Message,
    OcrText,
    PartialTranscript,
    SpeechActivity,
    StillImage,
    UserInput,
)

pytestmark = pytest.mark.fast

JPEG = b"\xff\xd8 a picture \xff\xd9"
PROMPT = "What is this? Answer in one short sentence."


def make(*, vision: bool = True, llm: bool = True, camera: bool = True) -> Controller:
    ctx = ModeContext(
        FakeLayout(300), ModeOptions(), has_llm=llm, has_camera=camera, has_vision=vision
    )
    modes = (Mode.CAPTIONS, Mode.READ, Mode.ASSIST)
    return Controller(ctx, modes, Mode.CAPTIONS, LlmSource.LOCAL)


def text_of(c: Controller) -> str:
    assert c.screen is not None
    body = c.screen.body
    return "\n".join(body.lines) if isinstance(body, PageView) else str(getattr(body, "text", ""))


T = TypeVar("T")


def one(kind: type[T], effects: list[Message]) -> T:
    """The one effect, of type ``kind``."""
    assert len(effects) == 1 and isinstance(effects[0], kind), effects
    return effects[0]


def user_turn(request: LlmRequest) -> tuple[str, tuple[object, ...]]:
    return request.messages[-1].content, request.messages[-1].images


def test_look_jumps_to_read_captures_and_asks_about_the_picture() -> None:
    c = make()
    capture = one(CaptureRequest, run(c, UserInput(Intent.LOOK, at_s=10.0)))
    assert c.mode is Mode.READ
    assert isinstance(capture, CaptureRequest) and capture.purpose == "look"
    assert text_of(c) == LOOKING
    request = one(LlmRequest, run(c, StillImage(capture.request_id, JPEG, 640, 480, at_s=10.5)))
    assert isinstance(request, LlmRequest)
    assert user_turn(request) == (PROMPT, (JPEG,))  # the image travels as JPEG bytes
    assert text_of(c) == LOOKING  # until the first words
    run(c, LlmDelta(request.request_id, "A red mug."))
    assert "A red mug." in text_of(c)
    answer = "A red mug of green tea on a wooden desk by the window, next to a pile of old books and a lamp."
    run(c, LlmDone(request.request_id, answer))
    body = c.screen.body if c.screen else None
    assert isinstance(body, PageView) and body.page_count == 2  # paged
    run(c, UserInput(Intent.PAGE_NEXT))
    body = c.screen.body if c.screen else None
    assert isinstance(body, PageView) and body.page_index == 1


def test_a_new_look_cancels_the_answer_under_way() -> None:
    c = make()
    capture = one(CaptureRequest, run(c, UserInput(Intent.LOOK, at_s=1.0)))
    request = one(LlmRequest, run(c, StillImage(capture.request_id, JPEG)))
    run(c, LlmDelta(request.request_id, "A cup"))
    effects = run(c, UserInput(Intent.LOOK, at_s=5.0))
    assert isinstance(effects[0], CancelLlm) and effects[0].request_id == request.request_id
    assert isinstance(effects[1], CaptureRequest)
    assert text_of(c) == LOOKING
    # The old request's late words and the old capture change nothing.
    assert run(c, StillImage(capture.request_id, JPEG), LlmDelta(request.request_id, "!")) == []
    assert text_of(c) == LOOKING


def test_a_question_spoken_right_after_the_press_is_asked_about_the_picture() -> None:
    c = make()
    capture = one(CaptureRequest, run(c, UserInput(Intent.LOOK, at_s=10.0)))
    run(c, SpeechActivity(True, at_s=10.8), PartialTranscript("how much", "", "en"))
    assert text_of(c) == f"{LOOKING}\nhow much"
    assert run(c, StillImage(capture.request_id, JPEG)) == []  # held for the question
    request = one(
        LlmRequest, run(c, FinalTranscript("How much is it?", "en", 1.0, speech_end_at_s=12.0))
    )
    assert isinstance(request, LlmRequest)
    question, images = user_turn(request)
    assert "How much is it?" in question and images == (JPEG,)


def test_a_question_after_the_answer_began_asks_again_with_the_same_picture() -> None:
    c = make()
    capture = one(CaptureRequest, run(c, UserInput(Intent.LOOK, at_s=10.0)))
    first = one(LlmRequest, run(c, StillImage(capture.request_id, JPEG)))
    assert isinstance(first, LlmRequest)
    cancel, again = run(c, FinalTranscript("What brand?", "en", 0.8, speech_end_at_s=11.5))
    assert isinstance(again, LlmRequest)
    assert cancel == CancelLlm(first.request_id)
    assert isinstance(again, LlmRequest) and user_turn(again)[1] == (JPEG,)
    assert "What brand?" in user_turn(again)[0]
    # Speech that began long after the press is not a question about the picture.
    c2 = make()
    capture = one(CaptureRequest, run(c2, UserInput(Intent.LOOK, at_s=10.0)))
    run(c2, StillImage(capture.request_id, JPEG))
    assert run(c2, FinalTranscript("unrelated", "en", 1.0, speech_end_at_s=30.0)) == []


def test_without_a_vision_model_look_reads_the_text_and_says_so() -> None:
    c = make(vision=False)
    capture = one(CaptureRequest, run(c, UserInput(Intent.LOOK, at_s=1.0)))
    assert isinstance(capture, CaptureRequest) and capture.purpose == "read"
    request = one(LlmRequest, run(c, OcrText(capture.request_id, "Oolong tea 250 g")))
    assert isinstance(request, LlmRequest)
    content, images = user_turn(request)
    assert images == () and "Oolong tea 250 g" in content and PROMPT in content
    run(c, LlmDone(request.request_id, "A pack of tea."))
    assert text_of(c).replace("\n", " ") == f"({NO_VISION}) A pack of tea."


def test_look_failures_are_shown() -> None:
    c = make()
    capture = one(CaptureRequest, run(c, UserInput(Intent.LOOK, at_s=1.0)))
    run(c, StillImage(capture.request_id, b"", error="the camera delivered no frame"))
    assert text_of(c) == "could not look: the camera delivered no frame"
    capture = one(CaptureRequest, run(c, UserInput(Intent.LOOK, at_s=2.0)))
    request = one(LlmRequest, run(c, StillImage(capture.request_id, JPEG)))
    run(c, LlmDone(request.request_id, "", error="model gone"))
    assert "(no answer: model gone)" in text_of(c)
    no_camera = make(camera=False)
    assert run(no_camera, UserInput(Intent.LOOK)) == []
    assert text_of(no_camera) == "no camera: set camera.source"


def test_a_read_press_puts_the_read_page_in_front_again() -> None:
    c = make()
    capture = one(CaptureRequest, run(c, UserInput(Intent.LOOK, at_s=1.0)))
    request = one(LlmRequest, run(c, StillImage(capture.request_id, JPEG)))
    effects = run(c, UserInput(Intent.ACTION, at_s=2.0))
    assert effects[0] == CancelLlm(request.request_id)
    assert isinstance(effects[1], CaptureRequest) and effects[1].purpose == "read"
    assert isinstance(c.screen.body if c.screen else None, TextView)
    assert text_of(c) == "reading…"
