"""Audio files (WAV, FLAC, OGG: whatever libsndfile reads) as a 16 kHz mono source."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from glasses.errors import GlassesError
from glasses.extras import BrokenExtraError, require
from glasses.sources.audio import (
    SAMPLE_RATE_HZ,
    AudioChunk,
    ClosingSource,
    SourceStats,
    to_mono_float32,
)
from glasses.sources.resample import Resampler


def soundfile_module() -> Any:
    try:
        return require("soundfile", "audio", purpose="reading audio files")
    except BrokenExtraError as exc:  # wheels bundle libsndfile on x86-64 / aarch64, not others
        raise GlassesError(str(exc)) from exc  # the message names the fix (libsndfile1)


def read_audio_file(path: str | Path) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
    """The whole file as 16 kHz mono float32 and its original sample rate."""
    source = FileAudioSource(path, chunk_s=5.0)
    with source:
        parts = [chunk.samples for chunk in source.chunks()]
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return samples, source.file_sample_rate_hz


class FileAudioSource(ClosingSource):
    """Plays a file as chunks of ``chunk_s`` seconds, as fast as possible or in real time.

    ``realtime=True`` paces chunks to the wall clock (``clock``/``sleep`` are injectable so tests
    need not wait), which is how a file stands in for a microphone in demos.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        chunk_s: float = 0.1,
        realtime: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        sf = soundfile_module()
        if not self.path.is_file():
            raise GlassesError(f"audio file not found: {self.path}")
        try:
            self._file = sf.SoundFile(str(self.path))
        except (RuntimeError, OSError) as exc:  # soundfile's errors derive from RuntimeError
            raise GlassesError(f"cannot read audio file {self.path}: {exc}") from exc
        self.file_sample_rate_hz = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self._block_frames = max(1, round(chunk_s * self.file_sample_rate_hz))
        self._resampler = Resampler(self.file_sample_rate_hz, SAMPLE_RATE_HZ)
        self._realtime = realtime
        self._clock = clock
        self._sleep = sleep
        self._delivered = 0
        self._closed = False

    @property
    def sample_rate_hz(self) -> int:
        return SAMPLE_RATE_HZ

    @property
    def duration_s(self) -> float:
        return float(self._file.frames) / self.file_sample_rate_hz

    def chunks(self) -> Iterator[AudioChunk]:
        started = self._clock()
        while not self._closed:
            try:
                block = self._file.read(self._block_frames, dtype="float32", always_2d=True)
            except (RuntimeError, OSError) as exc:
                raise GlassesError(f"cannot read audio file {self.path}: {exc}") from exc
            last = len(block) < self._block_frames
            out = self._resampler.process(to_mono_float32(block))
            if last:
                out = np.concatenate([out, self._resampler.flush()])
            if len(out):
                chunk = AudioChunk(out, self._delivered)
                self._delivered += len(out)
                if self._realtime:
                    # Hand a chunk out once the wall clock has reached its end, like a device.
                    delay = started + chunk.start_s + chunk.duration_s - self._clock()
                    if delay > 0:
                        self._sleep(delay)
                yield chunk
            if last:
                return

    def stats(self) -> SourceStats:
        return SourceStats(delivered_samples=self._delivered)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._file.close()
