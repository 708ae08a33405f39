"""Demo media made at run time, so the repository holds no audio or images: speech from
espeak-ng (else a voice-like buzz the VAD takes for speech, for a second or so) and a sign
drawn with Pillow in the display's CJK font, and a product for LOOK."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from typing import Final

import numpy as np

from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray
from glasses.sources.camera import Image
from glasses.sources.resample import Resampler

ESPEAK: Final = "espeak-ng"
VOICES: Final = {"zh": "cmn", "en": "en"}
SIGN_ROWS: Final = ("西湖游船 West Lake boats", "票价 55元 Tickets 55 yuan", "出口 Exit B")


def have_espeak() -> bool:
    return shutil.which(ESPEAK) is not None


def silence(seconds: float) -> FloatArray:
    return np.zeros(round(seconds * SAMPLE_RATE_HZ), dtype=np.float32)


def speak(text: str, language: str = "en") -> FloatArray:
    """``text`` spoken by espeak-ng as 16 kHz float32 (raises OSError without espeak-ng)."""
    voice = VOICES.get(language, language)
    wav = subprocess.run(
        [ESPEAK, "-v", voice, "--stdout", text], check=True, capture_output=True, timeout=30
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate, width = w.getframerate(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise OSError(f"espeak-ng wrote {8 * width}-bit audio; expected 16-bit")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    resampler = Resampler(rate, SAMPLE_RATE_HZ)
    return np.concatenate([resampler.process(samples), resampler.flush()])


def buzz(seconds: float = 1.2, f0_hz: float = 110.0) -> FloatArray:
    """A vowel-like harmonic buzz in 4 Hz syllables: not speech, but Silero VAD scores it as
    speech for about a second, enough to show the pipeline working without espeak-ng."""
    t = np.arange(round(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    phase = 2 * np.pi * np.cumsum(f0_hz * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))) / SAMPLE_RATE_HZ
    formants = ((700.0, 1.0), (1200.0, 0.6), (2600.0, 0.3))
    voice = sum(
        sum(a * np.exp(-(((k * f0_hz - f) / 150.0) ** 2)) for f, a in formants) * np.sin(k * phase)
        for k in range(1, 30)
    )
    syllables = 0.5 * (1 - np.cos(2 * np.pi * 4 * t))
    signal = np.asarray(voice * syllables, dtype=np.float64)
    return (0.5 * signal / max(float(np.abs(signal).max()), 1e-9)).astype(np.float32)


def utterance(text: str, language: str) -> FloatArray:
    """Speech for ``text`` with a little silence before and enough after to end it."""
    voice = speak(text, language) if have_espeak() else buzz()
    return np.concatenate([silence(0.3), voice, silence(1.0)])


def sign_image(rows: tuple[str, ...] = SIGN_ROWS, width_px: int = 960) -> Image:
    """Dark text on a light sign, as a BGR array (what a camera gives)."""
    from PIL import Image as PilImage
    from PIL import ImageDraw

    from glasses.display.fonts import find_font, load_font

    font = load_font(find_font(), 64)
    height_px = 80 + 110 * len(rows)
    image = PilImage.new("RGB", (width_px, height_px), (235, 232, 220))
    pen = ImageDraw.Draw(image)
    for i, row in enumerate(rows):
        pen.text((50, 50 + 110 * i), row, font=font, fill=(20, 30, 60))
    rgb = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def product_image(width_px: int = 640, height_px: int = 480) -> Image:
    """A product on a shelf for LOOK ("what is this?"): a tea tin with its label and a price
    tag, drawn with Pillow, as a BGR array (what a camera gives)."""
    from PIL import Image as PilImage
    from PIL import ImageDraw

    from glasses.display.fonts import find_font, load_font

    image = PilImage.new("RGB", (width_px, height_px), (214, 200, 178))  # a wooden shelf
    pen = ImageDraw.Draw(image)
    w, h = width_px, height_px
    pen.rectangle((0, int(h * 0.82), w, h), fill=(150, 110, 70))  # the shelf's edge
    tin = (int(w * 0.3), int(h * 0.12), int(w * 0.7), int(h * 0.82))
    pen.rounded_rectangle(tin, radius=18, fill=(24, 96, 64), outline=(10, 40, 25), width=4)
    pen.ellipse((int(w * 0.3), int(h * 0.06), int(w * 0.7), int(h * 0.18)), fill=(190, 160, 60))
    label = (int(w * 0.32), int(h * 0.34), int(w * 0.68), int(h * 0.6))
    pen.rectangle(label, fill=(245, 238, 215))
    big, small = load_font(find_font(), h // 12), load_font(find_font(), h // 22)
    pen.text((label[0] + 14, label[1] + 10), "乌龙茶", font=big, fill=(120, 30, 20))
    pen.text(
        (label[0] + 14, label[1] + 14 + h // 11), "Oolong Tea 250 g", font=small, fill=(20, 30, 60)
    )
    tag = (int(w * 0.74), int(h * 0.66), int(w * 0.95), int(h * 0.8))
    pen.rectangle(tag, fill=(250, 220, 40), outline=(60, 50, 0), width=2)
    pen.text((tag[0] + 10, tag[1] + 8), "¥68", font=small, fill=(0, 0, 0))
    rgb = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])
