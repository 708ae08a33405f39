"""Real speech for the VAD tests, synthesised with espeak-ng (Debian package ``espeak-ng``)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

RATE = 16_000


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.cache
def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="glasses-speech-"))


@functools.lru_cache(maxsize=32)
def phrase_wav(text: str, voice: str = "en") -> Path:
    """A WAV file (22.05 kHz mono, espeak's native rate) speaking ``text``."""
    if not have_espeak():
        pytest.skip("espeak-ng is not installed (apt install espeak-ng)")
    pytest.importorskip("soundfile")
    path = _workdir() / f"{abs(hash((text, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return path


def phrase(text: str, voice: str = "en") -> np.ndarray:
    """``text`` spoken, as 16 kHz float32, trimmed to where the voice actually is."""
    from glasses.sources.audio_file import read_audio_file

    samples, _ = read_audio_file(phrase_wav(text, voice))
    start, end = voiced_bounds(samples)
    return samples[start:end]


def voiced_bounds(
    samples: np.ndarray, frame: int = 160, floor_db: float = -40.0
) -> tuple[int, int]:
    """First and last sample of 10 ms frames louder than ``floor_db`` below the peak."""
    frames = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: frames * frame].reshape(frames, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > floor_db)
    return int(loud[0] * frame), int((loud[-1] + 1) * frame)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


def noise(seconds: float, level: float = 0.03, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(round(seconds * RATE)) * level).astype(np.float32)


def tone(seconds: float, hz: float, rate: int = RATE, level: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    soundfile = pytest.importorskip("soundfile")
    soundfile.write(str(path), samples, rate, subtype="PCM_16")
    return path


def two_phrases() -> np.ndarray:
    """Two English phrases with silence before, between and after: two segments for listen."""
    return np.concatenate(
        [
            silence(0.6),
            phrase("Turn left at the next corner"),
            silence(1.0),
            phrase("Thank you very much"),
            silence(1.0),
        ]
    )
