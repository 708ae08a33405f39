"""Partial and final transcripts from an offline recogniser, without flicker.

While an utterance is open its audio is re-decoded every ``partial_interval_s`` of new speech;
each decode may revise the end of the previous one.  The screen shows the *stable prefix* (the
part the last ``stable_window`` partials agree on) as settled text and the rest as tentative,
so words do not jump around.  The final transcript is decoded once from the whole utterance.
Time is data here too (sample counts), so all of this is tested with a fake recogniser.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from glasses.perception.asr import Recognizer
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


class StreamingTranscriber:
    """Feed it the open segment as it grows (``partial``) and each ended one (``final``)."""

    def __init__(self, recognizer: Recognizer, config: TranscriberConfig | None = None) -> None:
        self.recognizer = recognizer
        self.config = config or TranscriberConfig()
        self._segment_start: int | None = None
        self._decoded_samples = 0
        self._partials: deque[str] = deque(maxlen=max(1, self.config.stable_window))

    def partial(self, start_sample: int, samples: FloatArray) -> Transcript | None:
        """A new partial when enough new audio arrived since the last one, else None."""
        c = self.config
        if start_sample != self._segment_start:
            self._segment_start = start_sample
            self._decoded_samples = 0
            self._partials.clear()
        n = len(samples)
        interval = round(c.partial_interval_s * c.sample_rate_hz)
        if n < round(c.min_partial_s * c.sample_rate_hz) or n - self._decoded_samples < interval:
            return None
        self._decoded_samples = n
        heard = self.recognizer.recognize(samples, c.sample_rate_hz)
        self._partials.append(heard.text)
        return Transcript(
            heard.text,
            stable_prefix(list(self._partials), self._partials.maxlen or 1),
            heard.language,
            start_sample,
            start_sample + n,
            is_final=False,
            sample_rate_hz=c.sample_rate_hz,
        )

    def final(self, ended: SpeechEnded) -> Transcript:
        self._segment_start = None
        self._partials.clear()
        heard = self.recognizer.recognize(ended.samples, ended.sample_rate_hz)
        return Transcript(
            heard.text,
            heard.text,
            heard.language,
            ended.start_sample,
            ended.end_sample,
            is_final=True,
            sample_rate_hz=ended.sample_rate_hz,
        )
