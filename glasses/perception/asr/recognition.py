"""What every speech recogniser gives and takes, whatever model is behind it.

Two shapes of recogniser exist.  An offline one (SenseVoice, Moonshine) turns a whole
utterance into text in one call; partials come from re-decoding the growing utterance.  A
streaming one (a zipformer transducer) keeps state between calls: audio goes in as it arrives
and the text so far comes out at once, so partials cost almost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray


@dataclass(frozen=True)
class Recognition:
    text: str
    language: str  # ISO 639-1-ish code ("en", "zh", "yue"), "" if unknown or no speech


@dataclass(frozen=True)
class RecognizerConfig:
    model_dir: Path
    """A sherpa-onnx model folder: SenseVoice, Moonshine or a streaming transducer."""
    num_threads: int = 2
    language: str = "auto"
    """What is spoken, or ``auto``.  SenseVoice skips its language identification when told;
    the others use it as the answer when their own guess (from the script) is unsure."""
    use_itn: bool = True
    """Inverse text normalisation (digits, punctuation), where the model offers it."""
    provider: str = "cpu"
    """sherpa-onnx's execution provider: ``cpu`` or ``cuda`` (a sherpa-onnx built with CUDA;
    :func:`glasses.accel.sherpa_available` says whether this one is)."""


class Recognizer(Protocol):
    """An offline recogniser: one utterance in, its text out.  Not thread-safe."""

    def recognize(
        self, samples: FloatArray, sample_rate_hz: int = SAMPLE_RATE_HZ
    ) -> Recognition: ...


class RecognizerStream(Protocol):
    """One utterance being recognised as it is heard."""

    def accept(self, samples: FloatArray) -> Recognition:
        """Take the next samples; the text so far (it only grows or stays)."""
        ...

    def finish(self) -> Recognition:
        """No more audio: decode what is left and give the final text."""
        ...


@runtime_checkable
class StreamingRecognizer(Protocol):
    """A recogniser that decodes while audio arrives; also usable offline."""

    def open_stream(self, sample_rate_hz: int = SAMPLE_RATE_HZ) -> RecognizerStream: ...

    def recognize(
        self, samples: FloatArray, sample_rate_hz: int = SAMPLE_RATE_HZ
    ) -> Recognition: ...


# Code point ranges per script, for telling the language of a model that does not say it.
_SCRIPTS: dict[str, tuple[tuple[int, int], ...]] = {
    "han": ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F)),
    "kana": ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF)),
}
_SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "han": ("zh", "yue", "ja"),
    "kana": ("ja",),
    "hangul": ("ko",),
    "latin": ("en",),
}


def _script(ch: str) -> str | None:
    point = ord(ch)
    for script, ranges in _SCRIPTS.items():
        if any(lo <= point <= hi for lo, hi in ranges):
            return script
    return "latin" if ch.isascii() and ch.isalpha() else None


def language_of(text: str, languages: tuple[str, ...], fallback: str = "") -> str:
    """The language among ``languages`` that the script of ``text`` points to.

    For models that do not report a language (the bilingual zipformer, Moonshine): Han
    characters mean the model's Chinese, Latin letters its English, whichever is in the
    majority (counting a Han character as a word, as a Latin word is several letters).
    ``fallback`` when nothing decides, e.g. for empty text.
    """
    counts: dict[str, float] = {}
    for ch in text:
        script = _script(ch)
        if script is not None:
            counts[script] = counts.get(script, 0.0) + (0.25 if script == "latin" else 1.0)
    if "kana" in counts:  # Japanese mixes kana with Han; kana alone says Japanese
        counts["kana"] += counts.pop("han", 0.0)
    for script, _ in sorted(counts.items(), key=lambda item: -item[1]):
        for language in _SCRIPT_LANGUAGES[script]:
            if language in languages:
                return language
    return fallback
