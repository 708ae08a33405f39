"""Listening: audio chunks -> speech activity and transcripts.

VAD, segmenter and recogniser (``glasses.perception.speech.SpeechPipeline``) run on one worker
thread, in order, so the same audio gives the same events. The audio inbox is lossless: audio
is never dropped, inside an utterance or out. Partial transcripts are the only optional work;
while audio queues up behind a slow recogniser they are skipped (finals never are), so the
stage catches up instead of falling ever further behind the speaker. They are skipped too
while the power stage saves power (``saving``: a low battery, heat).
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

BEHIND_CHUNKS: Final = 4  # queued chunks (~0.1-0.4 s of audio) that mean "behind"


class ListenStage(Stage[AudioIn | AudioEnded]):
    def __init__(
        self,
        inbox: Channel[AudioIn | AudioEnded],
        send: Send,
        pipeline: SpeechPipeline,
        *,
        partials: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__("listen", inbox, send, **kwargs)
        self.pipeline = pipeline
        self.partials = partials
        self.saving = False  # set by the power stage: partials are the first work dropped
        self.worker = Worker("listen")
        self._stream: int | None = None
        self.heard_samples = 0  # end of the last chunk processed, in samples of its stream

    async def process(self, msg: AudioIn | AudioEnded) -> AsyncGenerator[Message, None]:
        started = self.clock()
        events: list[SpeechEvent] = []
        if isinstance(msg, AudioEnded):
            if msg.stream == self._stream:  # flush: an utterance open at the end is finished
                events = await self.worker.call(self.pipeline.flush)
                self._stream = None
        else:
            if msg.stream != self._stream:  # a new stream (device reopened): start afresh
                if self._stream is not None:
                    events = await self.worker.call(self.pipeline.flush)
                self.pipeline.reset()
                self._stream = msg.stream
            behind = self.inbox.qsize() >= BEHIND_CHUNKS
            self.pipeline.partials = self.partials and not self.saving and not behind
            events += await self.worker.call(self.pipeline.feed, msg.chunk)
            self.heard_samples = msg.chunk.end_sample
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
