"""The benchmark's speech: espeak-ng utterances of the stand-in translator's scripts, with where
each word ends in the audio, and what a recogniser has heard of them at each moment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from translate_support import SPEECH  # type: ignore[import-not-found]

from glasses.modes.clauses import join_text, word_spans
from glasses.runtime import media

RATE = 16_000
CHUNK = 1600  # the microphone's 0.1 s chunks
GAP_S = 0.2  # between clauses: a breath, shorter than the pause that ends an utterance


@dataclass
class Speech:
    """An utterance: its audio, text, language and when each word of the text ends."""

    audio: np.ndarray
    text: str
    language: str
    word_ends: list[tuple[int, int]]  # (character end in text, sample end in audio)

    @property
    def seconds(self) -> float:
        return self.word_ends[-1][1] / RATE - 0.3

    def heard(self, until: int) -> str:
        """What a recogniser that has heard ``until`` samples writes: the words spoken, and a
        half-spoken English word cut where the audio ends (what re-translation takes back)."""
        text, last_at = "", 0
        for end, at in self.word_ends:
            if at <= until:
                text, last_at = self.text[:end], at
                continue
            start = word_spans(self.text[:end])[-1][0]
            size = (end - start) * (until - last_at) // max(1, at - last_at)
            if self.language == "en" and 0 < size < end - start:
                text = join_text(text, self.text[start : start + size])
            break
        return text


def build_speech(clauses: list[str], language: str) -> Speech:
    """espeak-ng speech of ``clauses`` (a breath between them); each word's end is placed in
    its clause's audio by its length in characters."""
    lead = media.silence(0.3)
    parts, ends, text, at = [lead], [], "", len(lead)
    for clause in clauses:
        voice = media.speak(clause, language)
        spans = word_spans(clause)
        weight = np.cumsum([end - start for start, end in spans])
        base = len(join_text(text, clause)) - len(clause)
        for (_, end), w in zip(spans, weight, strict=True):
            stop = len(clause) if end == spans[-1][1] else end  # the last word with its mark
            ends.append((base + stop, at + round(len(voice) * float(w) / float(weight[-1]))))
        text = join_text(text, clause)
        parts += [voice, media.silence(GAP_S)]
        at += len(voice) + len(parts[-1])
    parts.append(media.silence(1.2))
    return Speech(np.concatenate(parts).astype(np.float32), text, language, ends)


def utterances(lengths: list[float], per_length: int) -> list[tuple[float, Speech]]:
    """For each length, ``per_length`` utterances per language, each at least that long."""
    out = []
    for language, bank in SPEECH.items():
        for length in lengths:
            for k in range(per_length):
                clauses: list[str] = []
                while True:
                    clauses.append(bank[(k * 3 + len(clauses)) % len(bank)])
                    speech = build_speech(clauses, language)
                    if speech.seconds >= length - 0.5 or len(clauses) > 3 * len(bank):
                        break
                out.append((length, speech))
    return out
