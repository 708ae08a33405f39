"""Utterance segmentation: a pure state machine over VAD windows, with time carried as data.

Input is one :class:`~glasses.perception.vad.VadWindow` at a time (its first sample's position,
its samples, its speech probability); output is a list of frozen events.  No clock, no model:
the same windows always give the same events, so every rule is tested with made-up windows.

Rules (the thresholds have hysteresis, as in Silero's own post-processing):
  * speech starts at a window with probability >= ``threshold`` and is *confirmed* once
    ``min_speech_s`` of voiced audio has followed; a blip that never gets there is dropped;
  * a confirmed utterance starts ``pre_roll_s`` before the first voiced window (the onset of a
    word is often scored low) and ends ``post_roll_s`` after the last voiced one, once
    ``min_silence_s`` of windows below ``neg_threshold`` have passed;
  * an utterance reaching ``max_utterance_s`` is split, at its latest pause if that is in its
    second half, and continues as a new utterance.
All buffers are allocated once: a pre-roll ring and one utterance buffer of the maximum length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from glasses.perception.vad import VadWindow
from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray
from glasses.sources.ring import TailRing

EndReason = Literal["silence", "max_length", "gap", "end_of_stream"]


@dataclass(frozen=True)
class SegmenterConfig:
    sample_rate_hz: int = SAMPLE_RATE_HZ
    threshold: float = 0.5
    neg_threshold: float | None = None  # None: threshold - 0.15
    pre_roll_s: float = 0.3
    post_roll_s: float = 0.15
    min_speech_s: float = 0.25
    min_silence_s: float = 0.5
    max_utterance_s: float = 15.0  # SenseVoice decodes up to ~30 s; partials re-decode it all

    def samples(self, seconds: float) -> int:
        return round(seconds * self.sample_rate_hz)


@dataclass(frozen=True)
class SpeechStarted:
    """An utterance was confirmed; it began at ``start_sample`` (pre-roll included)."""

    start_sample: int
    detected_sample: int  # stream position when it was confirmed: the detection latency
    sample_rate_hz: int = SAMPLE_RATE_HZ

    @property
    def start_s(self) -> float:
        return self.start_sample / self.sample_rate_hz


@dataclass(frozen=True, eq=False)
class SpeechEnded:
    """A finished utterance: samples ``[start_sample, end_sample)`` of the stream."""

    start_sample: int
    end_sample: int
    samples: FloatArray
    reason: EndReason
    sample_rate_hz: int = SAMPLE_RATE_HZ

    @property
    def start_s(self) -> float:
        return self.start_sample / self.sample_rate_hz

    @property
    def end_s(self) -> float:
        return self.end_sample / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        return (self.end_sample - self.start_sample) / self.sample_rate_hz


SegmentEvent = SpeechStarted | SpeechEnded
State = Literal["silence", "pending", "speech"]


class Segmenter:
    """Turns VAD windows into :class:`SpeechStarted` / :class:`SpeechEnded` events."""

    def __init__(self, config: SegmenterConfig | None = None) -> None:
        self.config = c = config or SegmenterConfig()
        self._threshold = c.threshold
        self._neg = c.neg_threshold if c.neg_threshold is not None else max(0.0, c.threshold - 0.15)
        self._pre = c.samples(c.pre_roll_s)
        self._post = c.samples(c.post_roll_s)
        self._min_speech = c.samples(c.min_speech_s)
        self._min_silence = c.samples(c.min_silence_s)
        self._capacity = max(1, c.samples(c.max_utterance_s))
        self._ring = TailRing(self._pre)
        self._buffer = np.zeros(self._capacity, dtype=np.float32)
        self._fill = 0
        self._state: State = "silence"
        self._next: int | None = None  # expected start of the next window
        self._seg_start = 0
        self._voiced = 0
        self._silence_run = 0
        self._last_voiced_end = 0
        self._last_pause = -1

    @property
    def state(self) -> State:
        return self._state

    @property
    def pause_s(self) -> float:
        """How long the open utterance has been silent at its end (0 outside speech): a pause
        inside it, which translate mode may take as the end of a clause."""
        if self._state != "speech":
            return 0.0
        return self._silence_run / self.config.sample_rate_hz

    def open_segment(self) -> tuple[int, FloatArray] | None:
        """The confirmed utterance so far, for partial recognition.

        A read-only view of the segmenter's buffer, valid until the next ``push``, ``flush`` or
        ``reset`` (copy it to keep it): it is asked for after every audio chunk, and copying up
        to ``max_utterance_s`` of audio each time would cost more than the VAD.
        """
        if self._state != "speech":
            return None
        view = self._buffer[: self._fill]
        view.flags.writeable = False
        return self._seg_start, view

    def push(self, window: VadWindow) -> list[SegmentEvent]:
        events: list[SegmentEvent] = []
        samples, p, n = window.samples, window.probability, len(window.samples)
        if self._next is not None and window.start_sample < self._next:
            raise ValueError(f"window at {window.start_sample} goes back before {self._next}")
        if self._next is not None and window.start_sample > self._next:
            # Audio was lost upstream: what is buffered no longer lines up with time.
            if self._state == "speech":
                events.append(self._end(min(self._end_of_speech(), self._next), "gap"))
            self._reset_to_silence()
        self._next = window.start_sample + n
        if self._state == "silence":
            if p < self._threshold:
                self._remember(samples)
                return events
            self._begin(window)
        else:
            if self._fill + n > self._capacity:
                events.extend(self._split(window.start_sample))
            self._buffer[self._fill : self._fill + n] = samples
            self._fill += n
            self._classify(p, window.end_sample, n)
        if self._state == "pending" and self._voiced >= self._min_speech:
            self._state = "speech"
            events.append(
                SpeechStarted(self._seg_start, window.end_sample, self.config.sample_rate_hz)
            )
        if self._silence_run >= self._min_silence:
            if self._state == "speech":
                events.append(self._end(self._end_of_speech(), "silence"))
            else:
                self._abandon()
        return events

    def reset(self) -> None:
        """Forget everything: the next window may start anywhere (a new stream)."""
        self._reset_to_silence()
        self._next = None

    def flush(self) -> list[SegmentEvent]:
        """End of stream: close a confirmed utterance, drop an unconfirmed one."""
        events: list[SegmentEvent] = []
        if self._state == "speech":
            events.append(self._end(self._end_of_speech(), "end_of_stream"))
        self._reset_to_silence()
        return events

    # -- internals -------------------------------------------------------------------------

    def _classify(self, p: float, end: int, n: int) -> None:
        if p >= self._threshold or (p >= self._neg and self._silence_run == 0):
            self._voiced += n
            self._silence_run = 0
            self._last_voiced_end = end
        else:  # below neg_threshold, or in between while already in a pause
            self._silence_run += n
            self._last_pause = end - n

    def _begin(self, window: VadWindow) -> None:
        pre = self._ring.contents()
        n = len(window.samples)
        keep = pre[-max(0, self._capacity - n) :] if self._capacity > n else pre[:0]
        self._buffer[: len(keep)] = keep
        self._buffer[len(keep) : len(keep) + n] = window.samples[: self._capacity]
        self._fill = min(self._capacity, len(keep) + n)
        self._seg_start = window.start_sample - len(keep)
        self._state = "pending"
        self._voiced = 0
        self._silence_run = 0
        self._last_pause = -1
        self._classify(window.probability, window.end_sample, n)

    def _end_of_speech(self) -> int:
        return min(self._last_voiced_end + self._post, self._seg_start + self._fill)

    def _end(self, end_sample: int, reason: EndReason) -> SpeechEnded:
        cut = max(0, end_sample - self._seg_start)
        event = SpeechEnded(
            self._seg_start,
            self._seg_start + cut,
            self._buffer[:cut].copy(),
            reason,
            self.config.sample_rate_hz,
        )
        tail = self._buffer[cut : self._fill]
        self._reset_to_silence()
        self._remember(tail)  # the silence after an utterance is the next one's pre-roll
        return event

    def _abandon(self) -> None:
        tail = self._buffer[: self._fill].copy()
        self._reset_to_silence()
        self._remember(tail)

    def _split(self, now: int) -> list[SegmentEvent]:
        events: list[SegmentEvent] = []
        if self._state != "speech":  # unconfirmed yet full: it is long enough to be speech
            self._state = "speech"
            events.append(SpeechStarted(self._seg_start, now, self.config.sample_rate_hz))
        half = self._seg_start + self._capacity // 2
        split = self._last_pause if self._last_pause >= half else self._seg_start + self._fill
        ended = SpeechEnded(
            self._seg_start,
            split,
            self._buffer[: split - self._seg_start].copy(),
            "max_length",
            self.config.sample_rate_hz,
        )
        rest = self._buffer[split - self._seg_start : self._fill].copy()
        self._buffer[: len(rest)] = rest
        self._fill = len(rest)
        self._seg_start = split
        self._last_pause = -1
        return [*events, ended, SpeechStarted(split, now, self.config.sample_rate_hz)]

    def _reset_to_silence(self) -> None:
        self._state = "silence"
        self._fill = 0
        self._voiced = 0
        self._silence_run = 0
        self._last_pause = -1
        self._ring.clear()

    def _remember(self, samples: FloatArray) -> None:
        self._ring.push(samples)
