"""A microphone through sounddevice (PortAudio), resampled to 16 kHz mono in the reader thread."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from glasses.errors import GlassesError
from glasses.sources.audio import SAMPLE_RATE_HZ, AudioChunk, ClosingSource, SourceStats
from glasses.sources.devices import AudioInputInfo, resolve_audio_input, sounddevice_module
from glasses.sources.resample import Resampler
from glasses.sources.ring import SampleRing


@dataclass(frozen=True)
class MicrophoneConfig:
    device: int | str | None = None  # index, name substring, or None for the default input
    block_s: float = 0.032  # PortAudio callback period: short keeps VAD latency low
    ring_s: float = 2.0  # how long the reader may stall before audio is dropped
    poll_s: float = 0.02  # reader wake-up period; the callback never signals (that would lock)


class MicrophoneSource(ClosingSource):
    """Captures one channel; the PortAudio callback only copies into a preallocated ring.

    Prefers 16 kHz when the device accepts it, otherwise records at the device's own rate
    (44.1 / 48 kHz) and resamples.  Dropped blocks (reader too slow) and PortAudio input
    overflows are counted in :meth:`stats`, and the stream position skips over lost audio so
    timestamps stay true.
    """

    def __init__(
        self,
        config: MicrophoneConfig | None = None,
        *,
        sd: Any | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config or MicrophoneConfig()
        self._sd = sd if sd is not None else sounddevice_module()
        self._sleep = sleep
        self.device: AudioInputInfo = resolve_audio_input(self.config.device, self._sd)
        self.device_sample_rate_hz = self._pick_rate()
        self._ring = SampleRing(max(1, round(self.config.ring_s * self.device_sample_rate_hz)))
        self._resampler = Resampler(self.device_sample_rate_hz, SAMPLE_RATE_HZ)
        self._overflows = 0  # written only by the callback
        self._position = 0
        self._delivered = 0
        self._dropped_seen = 0
        self._closed = False
        try:
            self._stream = self._sd.InputStream(
                device=self.device.index,
                channels=1,
                samplerate=self.device_sample_rate_hz,
                dtype="float32",
                blocksize=max(1, round(self.config.block_s * self.device_sample_rate_hz)),
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError and friends
            raise GlassesError(f"cannot open microphone {self.device.name!r}: {exc}") from exc

    @property
    def sample_rate_hz(self) -> int:
        return SAMPLE_RATE_HZ

    def _pick_rate(self) -> int:
        try:
            self._sd.check_input_settings(
                device=self.device.index, channels=1, dtype="float32", samplerate=SAMPLE_RATE_HZ
            )
            return SAMPLE_RATE_HZ
        except Exception:
            return self.device.default_sample_rate_hz

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Audio thread: no allocation, no locks, no I/O. Counting and one copy only.
        if status and getattr(status, "input_overflow", False):
            self._overflows += 1
        self._ring.write(indata[:, 0])

    def chunks(self) -> Iterator[AudioChunk]:
        ratio = SAMPLE_RATE_HZ / self.device_sample_rate_hz
        while not self._closed:
            self._sleep(self.config.poll_s)
            if self._closed:
                return
            data = self._ring.read_all()
            if len(data):
                out = self._resampler.process(data)
                if len(out):
                    yield AudioChunk(out, self._position)
                    self._position += len(out)
                    self._delivered += len(out)
            dropped = self._ring.dropped_samples
            if dropped != self._dropped_seen:
                # The lost audio came after what was just read: skip the clock past it.
                self._position += round((dropped - self._dropped_seen) * ratio)
                self._dropped_seen = dropped
            if not len(data) and not self._stream.active and not self._closed:
                raise GlassesError(
                    f"microphone {self.device.name!r} stopped delivering audio (unplugged?)"
                )

    def stats(self) -> SourceStats:
        ratio = SAMPLE_RATE_HZ / self.device_sample_rate_hz
        return SourceStats(
            delivered_samples=self._delivered,
            dropped_samples=round(self._ring.dropped_samples * ratio),
            overflows=self._overflows + self._ring.dropped_blocks,
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.stop()
        finally:
            self._stream.close()
