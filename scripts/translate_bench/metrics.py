"""Lag and erasure of what translate mode drew, measured on the stand-in translator's text.

Lag: for each source word, the time from the end of the word in the audio to when its
translation is settled on screen for good (final text, or a tentative word that agreement drew
settled, and never taken back after). A word whose translation never settles is not given a
time: it is counted as unsettled (a bench bug with the stand-ins: every word is translated), and
a word the table translates into nothing ("the") has no lag to measure. Erasure: characters of
translation drawn and then taken back per character finally shown (on the settled text, or on
all drawn text including the dim tentative part)."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field

from translate_support import pieces  # type: ignore[import-not-found]

from translate_bench.simulate import Run
from translate_bench.speech import RATE, Speech, norm


@dataclass
class Lags:
    """One run's per-word lags (s), and the words that got none."""

    seconds: list[float] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)  # words never settled on screen
    silent: int = 0  # words translated into nothing

    def __iadd__(self, other: Lags) -> Lags:
        self.seconds += other.seconds
        self.unsettled += other.unsettled
        self.silent += other.silent
        return self


def _common(a: str, b: str) -> int:
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def lags(speech: Speech, run: Run) -> Lags:
    """Per source word: end of the word in the audio -> its translation settled for good."""
    cut = [(start, norm(piece)) for start, _, piece in pieces(speech.text, speech.target)]
    reference = "".join(piece for _, piece in cut)
    # the settled text's agreement with the reference, and from when on it never drops below
    matched = [_common(norm(settled), reference) for _, settled, _ in run.screens]
    floor = list(itertools.accumulate(reversed(matched), min))[::-1]
    out, before, word_start = Lags(), 0, 0
    for end, at in speech.word_ends:
        word, word_start = speech.text[word_start:end].strip(), end
        need = sum(len(piece) for start, piece in cut if start < end)  # through this word
        if need == before:
            out.silent += 1
            continue
        first = next((i for i, m in enumerate(floor) if m >= need), None)
        if first is None:
            out.unsettled.append(word)
        else:
            out.seconds.append(run.screens[first][0] - at / RATE)
        before = need
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
    if not values:
        return {"n": 0, "mean": float("nan"), "median": float("nan"), "p90": float("nan")}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "p90": p90,
    }
