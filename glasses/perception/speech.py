"""The listening pipeline: audio chunks -> Silero VAD -> segmenter -> (optional) transcripts.

Synchronous and single-threaded on purpose: it runs in the consumer loop of an audio source
(whose ring buffer absorbs the time a decode takes), and the same chunks always give the same
events, which is what the tests rely on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from glasses.perception.segmenter import (
    Segmenter,
    SegmenterConfig,
    SegmentEvent,
    SpeechEnded,
    SpeechStarted,
)
from glasses.perception.transcriber import Transcriber, Transcript
from glasses.perception.vad import SileroVad, VadConfig
from glasses.sources.audio import AudioChunk

SpeechEvent = SpeechStarted | SpeechEnded | Transcript


class SpeechPipeline:
    """``feed(chunk)`` returns what happened in it, in order.

    Without a transcriber it only segments.  With one, each ended utterance is followed by its
    final :class:`Transcript`, and partial transcripts appear while speech goes on (when
    ``partials`` is set).
    """

    def __init__(
        self,
        *,
        vad: SileroVad | None = None,
        segmenter: Segmenter | None = None,
        transcriber: Transcriber | None = None,
        partials: bool = True,
        vad_config: VadConfig | None = None,
        segmenter_config: SegmenterConfig | None = None,
    ) -> None:
        self.vad = vad or SileroVad(vad_config)
        self.segmenter = segmenter or Segmenter(segmenter_config)
        self.transcriber = transcriber
        self.partials = partials
        self._expected: int | None = None

    def feed(self, chunk: AudioChunk) -> list[SpeechEvent]:
        if self._expected is not None and chunk.start_sample != self._expected:
            # Audio was lost (microphone overflow): restart the model's context after the gap;
            # the segmenter sees the jump in window positions and closes any open utterance.
            self.vad.reset(chunk.start_sample)
        self._expected = chunk.end_sample
        events: list[SpeechEvent] = []
        for window in self.vad.feed(chunk.samples):
            events.extend(self._after(self.segmenter.push(window)))
        if self.transcriber is not None and self.partials:
            open_segment = self.segmenter.open_segment()
            if open_segment is not None:
                partial = self.transcriber.partial(*open_segment)
                if partial is not None:
                    events.append(partial)
        return events

    def reset(self) -> None:
        """Start a new stream (the models stay loaded)."""
        self.vad.reset()
        self.segmenter.reset()
        if self.transcriber is not None:
            self.transcriber.reset()
        self._expected = None

    def flush(self) -> list[SpeechEvent]:
        return self._after(self.segmenter.flush())

    def run(self, chunks: Iterable[AudioChunk]) -> Iterator[SpeechEvent]:
        for chunk in chunks:
            yield from self.feed(chunk)
        yield from self.flush()

    def _after(self, segment_events: list[SegmentEvent]) -> list[SpeechEvent]:
        events: list[SpeechEvent] = []
        for event in segment_events:
            events.append(event)
            if isinstance(event, SpeechEnded) and self.transcriber is not None:
                events.append(self.transcriber.final(event))
        return events
