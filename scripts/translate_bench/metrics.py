"""Lag and erasure of what translate mode drew, measured on the stand-in translator's text.

Lag: for each source word, the time from the end of the word in the audio to when its
translation is settled on screen (final text, or a tentative word that agreement drew settled
and that is never taken back). Erasure: characters of translation drawn and then taken back
per character finally shown (on the settled text, or on all drawn text including the dim
tentative part)."""

from __future__ import annotations

import itertools
import statistics

from translate_support import pieces  # type: ignore[import-not-found]

from translate_bench.simulate import Run
from translate_bench.speech import RATE, Speech


def norm(text: str) -> str:
    """Letters and digits only: spacing and marks differ between clause-wise and whole."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _common(a: str, b: str) -> int:
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def lags(speech: Speech, run: Run) -> list[float]:
    """Per source word: end of the word in the audio -> its translation settled for good."""
    target = "zh" if speech.language == "en" else "en"
    cut = [(start, norm(piece)) for start, _, piece in pieces(speech.text, target)]
    reference = "".join(piece for _, piece in cut)
    # the settled text's agreement with the reference, and from when on it never drops below
    matched = [_common(norm(settled), reference) for _, settled, _ in run.screens]
    floor = list(itertools.accumulate(reversed(matched), min))[::-1]
    out = []
    for end, at in speech.word_ends:
        need = sum(len(piece) for start, piece in cut if start < end)  # the words it is in
        first = next((i for i, m in enumerate(floor) if m >= need), len(floor) - 1)
        out.append(run.screens[first][0] - at / RATE)
    return out


def erasure(run: Run, *, settled: bool) -> float:
    """Characters taken back per character finally shown (of the settled or all drawn text)."""
    shown_before, taken = "", 0
    for _, settled_text, drawn in run.screens:
        now = norm(settled_text if settled else drawn)
        taken += len(shown_before) - _common(shown_before, now)
        shown_before = now
    return taken / max(1, len(shown_before))


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "p90": p90,
    }
