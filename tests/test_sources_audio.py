"""Audio sources: files (any rate and channel count), the sample rings, the microphone."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from perception_support.fake_sounddevice import FakeSoundDevice, speaker, usb_mic
from perception_support.speech import tone, write_wav

from glasses.errors import GlassesError
from glasses.sources.audio import AudioSource
from glasses.sources.audio_file import FileAudioSource, read_audio_file
from glasses.sources.devices import list_audio_inputs, resolve_audio_input
from glasses.sources.microphone import MicrophoneConfig, MicrophoneSource
from glasses.sources.ring import SampleRing, TailRing

pytest.importorskip("soundfile")

pytestmark = pytest.mark.fast


def test_stereo_44k_wav_becomes_16k_mono_chunks(tmp_path: Path) -> None:
    left = tone(1.0, 500.0, 44_100)
    stereo = np.stack([left, left], axis=1)
    path = write_wav(tmp_path / "stereo.wav", stereo, 44_100)
    with FileAudioSource(path, chunk_s=0.1) as source:
        assert isinstance(source, AudioSource)
        chunks = list(source.chunks())
    assert all(c.sample_rate_hz == 16_000 for c in chunks)
    assert [c.start_sample for c in chunks] == list(
        np.cumsum([0] + [len(c.samples) for c in chunks[:-1]])
    )
    samples = np.concatenate([c.samples for c in chunks])
    assert abs(len(samples) - 16_000) <= 1
    assert np.max(np.abs(samples[500:-500] - tone(1.0, 500.0)[500 : len(samples) - 500])) < 2e-3


def test_flac_reads_like_wav(tmp_path: Path) -> None:
    import soundfile

    x = tone(0.5, 300.0)
    soundfile.write(str(tmp_path / "a.flac"), x, 16_000)
    samples, rate = read_audio_file(tmp_path / "a.flac")
    assert rate == 16_000
    assert np.allclose(samples, x, atol=1e-4)


def test_realtime_playback_waits_for_the_wall_clock(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "t.wav", tone(1.0, 200.0))
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    source = FileAudioSource(path, chunk_s=0.25, realtime=True, clock=lambda: now[0], sleep=sleep)
    with source:
        ends = [c.start_s + c.duration_s for c in source.chunks()]
    assert slept == pytest.approx([0.25, 0.25, 0.25, 0.25])
    assert ends[-1] == pytest.approx(1.0)


def test_missing_and_unreadable_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(GlassesError, match="not found"):
        FileAudioSource(tmp_path / "nope.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio" * 10)
    with pytest.raises(GlassesError, match="cannot read audio file"):
        FileAudioSource(junk)


def test_sample_ring_wraps_and_drops_whole_blocks_when_full() -> None:
    ring = SampleRing(10)
    assert ring.write(np.arange(6, dtype=np.float32))
    assert list(ring.read_all()) == [0, 1, 2, 3, 4, 5]
    assert ring.write(np.arange(6, 14, dtype=np.float32))  # wraps around the end
    assert not ring.write(np.arange(3, dtype=np.float32))  # 8 + 3 > 10: dropped, counted
    assert (ring.dropped_samples, ring.dropped_blocks) == (3, 1)
    assert list(ring.read_all()) == list(range(6, 14))
    assert ring.available() == 0


def test_tail_ring_keeps_the_newest_samples_in_order() -> None:
    tail = TailRing(5)
    tail.push(np.arange(3, dtype=np.float32))
    assert list(tail.contents()) == [0, 1, 2]
    tail.push(np.arange(3, 10, dtype=np.float32))
    assert list(tail.contents()) == [5, 6, 7, 8, 9]
    tail.push(np.array([10, 11], dtype=np.float32))
    assert list(tail.contents()) == [7, 8, 9, 10, 11]


def test_input_devices_by_index_name_and_default() -> None:
    sd = FakeSoundDevice([speaker(), usb_mic(), usb_mic("Headset Mic", 44_100.0)], default_input=2)
    inputs = list_audio_inputs(sd)
    assert [d.index for d in inputs] == [1, 2]
    assert resolve_audio_input(None, sd).name == "Headset Mic"
    assert resolve_audio_input("usb pnp", sd).index == 1
    assert resolve_audio_input(2, sd).default_sample_rate_hz == 44_100
    with pytest.raises(GlassesError, match="matches no audio input"):
        resolve_audio_input("bluetooth", sd)
    with pytest.raises(GlassesError, match="no audio input device"):
        resolve_audio_input(None, FakeSoundDevice([speaker()]))


def _collect(source: MicrophoneSource, samples: int) -> np.ndarray:
    got: list[np.ndarray] = []
    starts: list[int] = []
    for chunk in source.chunks():
        starts.append(chunk.start_sample)
        got.append(chunk.samples)
        if sum(map(len, got)) >= samples:
            break
    return np.concatenate(got)


def test_microphone_at_48k_is_resampled_to_16k() -> None:
    sd = FakeSoundDevice([usb_mic()], signal=tone(1.0, 440.0, 48_000))
    with MicrophoneSource(MicrophoneConfig(device="USB", poll_s=0.005), sd=sd) as mic:
        assert mic.device_sample_rate_hz == 48_000
        assert sd.streams[0].kwargs["channels"] == 1
        samples = _collect(mic, 15_000)
    assert sd.streams[0].closed
    assert np.max(np.abs(samples[500:14_000] - tone(1.0, 440.0)[500:14_000])) < 2e-3
    assert mic.stats().dropped_samples == 0


def test_microphone_uses_16k_directly_when_the_device_accepts_it() -> None:
    sd = FakeSoundDevice([usb_mic()], supports_16k=True, signal=tone(0.5, 440.0))
    with MicrophoneSource(MicrophoneConfig(poll_s=0.005), sd=sd) as mic:
        assert mic.device_sample_rate_hz == 16_000
        samples = _collect(mic, 8_000)
    assert np.allclose(samples[:8_000], tone(0.5, 440.0)[:8_000])


def test_a_stalled_reader_loses_audio_counts_it_and_keeps_time() -> None:
    sd = FakeSoundDevice([usb_mic()], signal=tone(1.0, 440.0, 48_000), overflow_every=10)
    first_sleep = threading.Event()

    def sleep(seconds: float) -> None:
        if not first_sleep.is_set():  # the reader stalls until the whole second was captured
            first_sleep.set()
            sd.streams[0]._thread.join(5.0)

    config = MicrophoneConfig(ring_s=0.25, poll_s=0.005)
    with MicrophoneSource(config, sd=sd, sleep=sleep) as mic:
        chunks = []
        for chunk in mic.chunks():
            chunks.append(chunk)
            break
        stats = mic.stats()
    assert 11_000 < stats.dropped_samples < 13_000  # ~0.75 s of 1 s did not fit the ring
    assert stats.overflows >= 2  # PortAudio's own overflow flags plus the dropped blocks
    assert chunks[0].start_sample == 0


def test_an_unplugged_microphone_is_reported() -> None:
    sd = FakeSoundDevice([usb_mic()], signal=tone(1.0, 440.0, 48_000), die_after_blocks=5)
    with (
        MicrophoneSource(MicrophoneConfig(poll_s=0.005), sd=sd) as mic,
        pytest.raises(GlassesError, match="stopped delivering audio"),
    ):
        for _ in mic.chunks():
            pass
