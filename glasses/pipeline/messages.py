"""The one vocabulary of the daemon: frozen messages that flow between stages.

Every message is immutable. Times are ``at_s`` values of the daemon's monotonic clock, stamped
by whoever made the message, so the decision logic (``glasses.modes``) reads time as data and
latency figures are differences of stamps. Requests carry ``request_id`` so results of a
pre-empted request can be told apart from the current one.

End of a stream is a message (:class:`AudioEnded`); a failing peripheral is another
(:class:`PeripheralState`): the two are never confused, and neither is an exception.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, TypeAlias

from glasses.display.views import Mode, Screen
from glasses.llm.chat_template import ChatMessage
from glasses.perception.text_layout import TextLine
from glasses.sources.audio import AudioChunk
from glasses.sources.camera import Frame

Peripheral = Literal["display", "microphone", "camera"]

# -- perception -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AudioIn:
    """A chunk from the microphone; ``stream`` changes each time the device is (re)opened."""

    chunk: AudioChunk
    stream: int = 0


@dataclass(frozen=True)
class AudioEnded:
    """The audio stream ``stream`` ended: a file played out, or the device failed (``error``
    says how; the microphone task also reports the device as down and reopens it)."""

    stream: int = 0
    error: str = ""


@dataclass(frozen=True)
class SpeechActivity:
    """Speech confirmed (``speaking``) or ended; without a recogniser this is all captions get."""

    speaking: bool
    duration_s: float = 0.0
    at_s: float = 0.0


@dataclass(frozen=True)
class PartialTranscript:
    """Recognition of the utterance still being spoken; ``stable`` is its settled prefix.
    ``pause_s``: how long the VAD has heard no speech at its end (a pause inside it)."""

    text: str
    stable: str
    language: str
    at_s: float = 0.0
    pause_s: float = 0.0


@dataclass(frozen=True)
class FinalTranscript:
    """A finished utterance. ``speech_end_at_s`` is when the utterance was seen to end."""

    text: str
    language: str
    duration_s: float
    speech_end_at_s: float = 0.0
    at_s: float = 0.0


@dataclass(frozen=True, eq=False)
class CameraFrame:
    """The frame chosen for a capture (``chosen``: still and sharp, else the sharpest seen)."""

    request_id: int
    frame: Frame
    sharpness: float
    chosen: bool
    at_s: float = 0.0


@dataclass(frozen=True)
class OcrText:
    """What a capture read, rows joined by newlines; ``error`` is set when reading failed.

    ``lines`` are the same text line by line, with confidence and box, in reading order.
    """

    request_id: int
    text: str
    error: str = ""
    at_s: float = 0.0
    lines: tuple[TextLine, ...] = ()


# -- language model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LlmRequest:
    request_id: int
    messages: tuple[ChatMessage, ...]
    max_new_tokens: int


@dataclass(frozen=True)
class LlmDelta:
    """More reply text; ``reset`` (then ``text`` is empty): forget the text so far, the answer
    restarts (a fallback from a remote model to the local one mid-answer)."""

    request_id: int
    text: str
    at_s: float = 0.0
    reset: bool = False


@dataclass(frozen=True)
class LlmDone:
    """The end of a request: all its ``text``; ``cancelled`` when pre-empted, ``error`` if it
    failed. ``source`` is the backend that served it ("local" / "remote")."""

    request_id: int
    text: str
    cancelled: bool = False
    error: str = ""
    source: str = ""
    at_s: float = 0.0


@dataclass(frozen=True)
class CancelLlm:
    """Stop request ``request_id`` if it is running (executed at once, never queued)."""

    request_id: int


@dataclass(frozen=True)
class CaptureRequest:
    """Take a still, sharp frame: ``read`` it (OCR), or ``look`` at it (a JPEG for a
    vision-language model: the answer is a :class:`StillImage`)."""

    request_id: int
    purpose: Literal["read", "look"] = "read"


@dataclass(frozen=True, eq=False)
class StillImage:
    """The frame of a ``look`` capture as JPEG bytes (what travels to the model, local or
    remote); ``error`` is set, and ``jpeg`` empty, when the camera gave nothing."""

    request_id: int
    jpeg: bytes
    width_px: int = 0
    height_px: int = 0
    error: str = ""
    at_s: float = 0.0


# -- the glasses ------------------------------------------------------------------------------


class Intent(str, enum.Enum):
    """What a button or swipe means in the current mode (see ``glasses.runtime.device_input``)."""

    NEXT_MODE = "next_mode"
    ACTION = "action"  # press: capture in Read, next page in Assistant, clear in captions
    ASK = "ask"  # long press: push-to-talk for the assistant
    LOOK = "look"  # swipe up: "what is this?" about what the camera sees (in Read)
    PAGE_NEXT = "page_next"
    PAGE_PREVIOUS = "page_previous"


@dataclass(frozen=True)
class UserInput:
    intent: Intent
    at_s: float = 0.0


@dataclass(frozen=True)
class Battery:
    percent: int
    charging: bool


@dataclass(frozen=True)
class Worn:
    """The glasses' wear sensor: put on (``worn``) or taken off (EVENT WORN)."""

    worn: bool
    at_s: float = 0.0


@dataclass(frozen=True)
class GlassesTemperature:
    """The glasses' temperature sensor (EVENT TEMPERATURE)."""

    celsius: float
    at_s: float = 0.0


@dataclass(frozen=True)
class PowerNotice:
    """What the power state shows the wearer: status-line ``alerts`` (``SAVING``) and a
    ``notice`` line above the text (a critical battery); empty: nothing. ``saving``: the modes
    drop tentative work (clause translation's re-translations of the uncommitted tail)."""

    alerts: tuple[str, ...] = ()
    notice: str = ""
    saving: bool = False


@dataclass(frozen=True)
class PeripheralState:
    """A peripheral came up or went away (``detail`` says why); shown on the glasses."""

    peripheral: Peripheral
    up: bool
    detail: str = ""


@dataclass(frozen=True)
class SetMode:
    """Switch mode (from the command line or the configuration)."""

    mode: Mode


@dataclass(frozen=True)
class AskText:
    """A typed question for the assistant (the demo, a companion app)."""

    text: str
    at_s: float = 0.0


@dataclass(frozen=True)
class ScreenUpdate:
    """The new screen. ``cause``/``cause_at_s`` name the message that changed it, for latency."""

    screen: Screen
    cause: str = ""
    cause_at_s: float | None = None


Message: TypeAlias = (
    AudioIn
    | AudioEnded
    | SpeechActivity
    | PartialTranscript
    | FinalTranscript
    | CameraFrame
    | OcrText
    | LlmRequest
    | LlmDelta
    | LlmDone
    | CancelLlm
    | CaptureRequest
    | StillImage
    | UserInput
    | Battery
    | Worn
    | GlassesTemperature
    | PowerNotice
    | PeripheralState
    | SetMode
    | AskText
    | ScreenUpdate
)
