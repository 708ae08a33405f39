"""Partial and final transcripts of each utterance, without flicker.

With an offline recogniser the open utterance is re-decoded every ``partial_interval_s`` of
new speech; each decode may revise the end of the previous one.  With a streaming recogniser
only the new audio is fed, and the text so far comes back at once.  Either way the screen shows
the *stable prefix* (the part the last ``stable_window`` partials agree on) as settled text and
the rest as tentative, so words do not jump around, and the final transcript is the whole
utterance's.  Time is data here too (sample counts), so all of this is tested without a clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from glasses.perception.asr.recognition import (
    Recognition,
    Recognizer,
    RecognizerStream,
    StreamingRecognizer,
)
from glasses.perception.segmenter import SpeechEnded
from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray

# Scripts written without spaces: every character is a unit, so any prefix is whole words.
_UNSPACED = ((0x2E80, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x3134F))


def _in_word(ch: str) -> bool:
    return ch.isalnum() and not any(lo <= ord(ch) <= hi for lo, hi in _UNSPACED)


def stable_prefix(partials: Sequence[str], window: int = 3) -> str:
    """Longest common prefix of the last ``window`` partials, never ending inside a word.

    Until ``window`` partials exist nothing is settled: one decode agreeing with itself proves
    nothing.
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    if len(partials) < window:
        return ""
    recent = list(partials[-window:])
    shortest = min(recent, key=len)
    size = next(
        (i for i, ch in enumerate(shortest) if any(p[i] != ch for p in recent)), len(shortest)
    )
    prefix = shortest[:size]
    cut = len(prefix)
    if cut and _in_word(prefix[-1]) and any(len(p) > cut and _in_word(p[cut]) for p in recent):
        while cut and _in_word(prefix[cut - 1]):  # back off to the start of the unsettled word
            cut -= 1
    return prefix[:cut]


@dataclass(frozen=True)
class Transcript:
    text: str
    stable: str  # settled prefix of ``text`` (all of it when final)
    language: str
    start_sample: int
    end_sample: int
    is_final: bool
    sample_rate_hz: int = SAMPLE_RATE_HZ

    @property
    def tentative(self) -> str:
        return self.text[len(self.stable) :]

    @property
    def start_s(self) -> float:
        return self.start_sample / self.sample_rate_hz

    @property
    def end_s(self) -> float:
        return self.end_sample / self.sample_rate_hz


@dataclass(frozen=True)
class TranscriberConfig:
    partial_interval_s: float = 0.2
    stable_window: int = 3
    min_partial_s: float = 0.5  # shorter audio decodes to noise more often than to words
    sample_rate_hz: int = SAMPLE_RATE_HZ


class Transcriber(Protocol):
    """Feed it the open segment as it grows (``partial``) and each ended one (``final``)."""

    def partial(self, start_sample: int, samples: FloatArray) -> Transcript | None: ...

    def final(self, ended: SpeechEnded) -> Transcript: ...

    def reset(self) -> None:
        """A new audio stream: sample positions start again."""
        ...


class _Partials:
    """What both transcribers track per open segment: when a partial is due, and the recent
    partials whose common prefix is stable."""

    def __init__(self, config: TranscriberConfig | None) -> None:
        self.config = config or TranscriberConfig()
        self._segment_start: int | None = None
        self._decoded_samples = 0
        self._partials: deque[str] = deque(maxlen=max(1, self.config.stable_window))

    def _new_segment(self, start_sample: int) -> bool:
        if start_sample == self._segment_start:
            return False
        self._segment_start = start_sample
        self._decoded_samples = 0
        self._partials.clear()
        return True

    def _due(self, n: int, minimum_s: float) -> bool:
        c = self.config
        interval = round(c.partial_interval_s * c.sample_rate_hz)
        if n < round(minimum_s * c.sample_rate_hz) or n - self._decoded_samples < interval:
            return False
        self._decoded_samples = n
        return True

    def _partial(self, heard: Recognition, start_sample: int, n: int) -> Transcript:
        self._partials.append(heard.text)
        return Transcript(
            heard.text,
            stable_prefix(list(self._partials), self._partials.maxlen or 1),
            heard.language,
            start_sample,
            start_sample + n,
            is_final=False,
            sample_rate_hz=self.config.sample_rate_hz,
        )

    def _forget(self) -> None:
        self._segment_start = None
        self._partials.clear()


def _final(heard: Recognition, ended: SpeechEnded) -> Transcript:
    return Transcript(
        heard.text,
        heard.text,
        heard.language,
        ended.start_sample,
        ended.end_sample,
        is_final=True,
        sample_rate_hz=ended.sample_rate_hz,
    )


class StreamingTranscriber(_Partials):
    """Partials by re-decoding the open segment with an offline recogniser."""

    def __init__(self, recognizer: Recognizer, config: TranscriberConfig | None = None) -> None:
        super().__init__(config)
        self.recognizer = recognizer

    def partial(self, start_sample: int, samples: FloatArray) -> Transcript | None:
        """A new partial when enough new audio arrived since the last one, else None."""
        self._new_segment(start_sample)
        if not self._due(len(samples), self.config.min_partial_s):
            return None
        heard = self.recognizer.recognize(samples, self.config.sample_rate_hz)
        return self._partial(heard, start_sample, len(samples))

    def reset(self) -> None:
        self._forget()

    def final(self, ended: SpeechEnded) -> Transcript:
        self._forget()
        return _final(self.recognizer.recognize(ended.samples, ended.sample_rate_hz), ended)


class OnlineTranscriber(_Partials):
    """Partials from a streaming recogniser, fed only the audio it has not heard yet.

    The recogniser hears each sample once: when a segment is cut short (split at a pause
    for length), the audio its stream already took stays in that segment's final text and
    the next segment's stream starts after it, so no word is transcribed twice.
    """

    def __init__(
        self, recognizer: StreamingRecognizer, config: TranscriberConfig | None = None
    ) -> None:
        super().__init__(config)
        self.recognizer = recognizer
        self._stream: RecognizerStream | None = None
        self._heard_until = 0  # absolute sample index the current stream has heard up to

    def reset(self) -> None:
        self._forget()
        self._stream = None
        self._heard_until = 0

    def _feed(self, start_sample: int, samples: FloatArray) -> tuple[RecognizerStream, Recognition]:
        stream = self._stream
        if self._new_segment(start_sample) or stream is None:
            stream = self._stream = self.recognizer.open_stream(self.config.sample_rate_hz)
            self._heard_until = max(self._heard_until, start_sample)
        skip = max(0, self._heard_until - start_sample)
        self._heard_until = start_sample + max(skip, len(samples))
        return stream, stream.accept(samples[skip:])

    def partial(self, start_sample: int, samples: FloatArray) -> Transcript | None:
        _, heard = self._feed(start_sample, samples)  # every call: it decodes as audio arrives
        if not self._due(len(samples), 0.0):
            return None
        return self._partial(heard, start_sample, len(samples))

    def final(self, ended: SpeechEnded) -> Transcript:
        stream, _ = self._feed(ended.start_sample, ended.samples)
        self._forget()
        self._stream = None
        return _final(stream.finish(), ended)


def transcriber_for(
    recognizer: Recognizer | StreamingRecognizer, config: TranscriberConfig | None = None
) -> Transcriber:
    """The transcriber that suits the recogniser: streaming if it can, else re-decoding."""
    if isinstance(recognizer, StreamingRecognizer):
        return OnlineTranscriber(recognizer, config)
    return StreamingTranscriber(recognizer, config)
