"""Listening: audio chunks -> speech activity and transcripts.

VAD, segmenter and recogniser (``glasses.perception.speech.SpeechPipeline``) run on one worker
thread, in order, so the same audio gives the same events. The audio inbox is lossless: audio
is never dropped, inside an utterance or out. Partial transcripts are the only optional work;
while audio queues up behind a slow recogniser they are skipped (finals never are), so the
stage catches up instead of falling ever further behind the speaker. While the power stage
saves power (``saving``: a low battery, heat) they come at most once per
``power.saving_partial_interval_s`` of audio (:class:`PartialPacer`; 0: none): fewer re-decodes,
while clause translation still gets the settled text it commits.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any, Final

from glasses.perception.segmenter import SpeechEnded, SpeechStarted
from glasses.perception.speech import SpeechEvent, SpeechPipeline
from glasses.perception.transcriber import Transcript
from glasses.pipeline.channel import Channel
from glasses.pipeline.messages import (
    AudioEnded,
    AudioIn,
    FinalTranscript,
    Message,
    PartialTranscript,
    SpeechActivity,
)
from glasses.pipeline.stage import Send, Stage
from glasses.pipeline.worker import Worker
from glasses.sources.audio import SAMPLE_RATE_HZ

BEHIND_CHUNKS: Final = 4  # queued chunks (~0.1-0.4 s of audio) that mean "behind"


class PartialPacer:
    """Spaces partial transcripts while saving: the next may come ``interval_s`` of audio after
    the last one (0: none at all). Time is the stream's sample count, so it is plain data."""

    def __init__(self, interval_s: float, sample_rate_hz: int) -> None:
        self.interval_samples = round(interval_s * sample_rate_hz) if interval_s > 0 else None
        self.last_sample: int | None = None  # where the last partial came out

    def allows(self, end_sample: int) -> bool:
        """May a partial come out of the chunk ending at ``end_sample``?"""
        if self.interval_samples is None:
            return False
        last = self.last_sample
        return last is None or end_sample - last >= self.interval_samples

    def emitted(self, end_sample: int) -> None:
        self.last_sample = end_sample

    def reset(self) -> None:
        """A new stream: sample counts start again."""
        self.last_sample = None


class ListenStage(Stage[AudioIn | AudioEnded]):
    def __init__(
        self,
        inbox: Channel[AudioIn | AudioEnded],
        send: Send,
        pipeline: SpeechPipeline,
        *,
        partials: bool = True,
        saving_partial_interval_s: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__("listen", inbox, send, **kwargs)
        self.pipeline = pipeline
        self.partials = partials
        self.saving = False  # set by the power stage: partials are the first work cut down
        self.pacer = PartialPacer(saving_partial_interval_s, SAMPLE_RATE_HZ)
        self.worker = Worker("listen")
        self._stream: int | None = None
        self.heard_samples = 0  # end of the last chunk processed, in samples of its stream
        self.stream_first_s: float | None = None  # the first chunk of the stream handled (timing)

    async def process(self, msg: AudioIn | AudioEnded) -> AsyncGenerator[Message, None]:
        started = self.clock()
        events: list[SpeechEvent] = []
        if isinstance(msg, AudioEnded):
            if msg.stream == self._stream:  # flush: an utterance open at the end is finished
                events = await self.worker.call(self.pipeline.flush)
                self._stream = None
        else:
            first = msg.stream != self._stream
            if first:  # a new stream (device reopened): start afresh
                if self._stream is not None:
                    events = await self.worker.call(self.pipeline.flush)
                self.pipeline.reset()
                self.pacer.reset()
                self._stream = msg.stream
            end = msg.chunk.end_sample
            behind = self.inbox.qsize() >= BEHIND_CHUNKS
            paced = not self.saving or self.pacer.allows(end)
            self.pipeline.partials = self.partials and paced and not behind
            events += await self.worker.call(self.pipeline.feed, msg.chunk)
            if any(isinstance(e, Transcript) and not e.is_final for e in events):
                self.pacer.emitted(end)
            self.heard_samples = end
            if first:
                self.stream_first_s = self.clock()
        for out in self._messages(events, started):
            yield out

    def _messages(self, events: Sequence[SpeechEvent], started_s: float) -> list[Message]:
        now = self.clock()
        out: list[Message] = []
        for event in events:
            if isinstance(event, SpeechStarted):
                out.append(SpeechActivity(True, at_s=now))
            elif isinstance(event, SpeechEnded):
                out.append(SpeechActivity(False, event.duration_s, at_s=now))
            elif isinstance(event, Transcript) and not event.is_final:
                pause_s = self.pipeline.segmenter.pause_s  # a pause inside the utterance
                out.append(
                    PartialTranscript(event.text, event.stable, event.language, now, pause_s)
                )
            elif isinstance(event, Transcript):
                self.metrics.observe_ms("asr.final", (now - started_s) * 1000)
                duration_s = event.end_s - event.start_s
                out.append(FinalTranscript(event.text, event.language, duration_s, started_s, now))
        return out
