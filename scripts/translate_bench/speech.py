"""The benchmark's speech: espeak-ng utterances of the stand-in translator's scripts, with where
each word ends in the audio, and what a recogniser hears in a stretch of it.

A word is a unit of the stand-in's table (``translate_support.pieces``): an English word, or a
Mandarin word of one to three characters ("断桥"). A recogniser here writes whole words only,
so no cut of the audio can split a word the table translates as one."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
from translate_support import SPEECH, pieces  # type: ignore[import-not-found]

from glasses.modes.clauses import join_text
from glasses.perception.segmenter import SegmenterConfig
from glasses.runtime import media

RATE = 16_000
CHUNK = 1600  # the microphone's 0.1 s chunks
GAP_S = 0.2  # between clauses: a breath, shorter than the pause that ends an utterance
LEAD_S = 0.3  # silence before the first word
VOICED = 0.01  # |sample| above this is voice: espeak-ng's edge silence is trimmed below it
_SEGMENTER = SegmenterConfig()
# The longest utterance the segmenter keeps whole: its cut counts the pre-roll and the silence
# that ends the utterance, and the VAD hears the end of speech a little late.
MAX_S = _SEGMENTER.max_utterance_s - _SEGMENTER.pre_roll_s - _SEGMENTER.min_silence_s - 0.1
_speak = functools.cache(media.speak)  # the same clause, synthesised once


def norm(text: str) -> str:
    """Letters and digits only: spacing and marks differ between clause-wise and whole."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


@dataclass
class Speech:
    """An utterance: its audio, text, language and when each word of the text ends."""

    audio: np.ndarray
    text: str
    language: str
    word_ends: list[tuple[int, int]]  # (character end in text, sample end in audio)

    @property
    def seconds(self) -> float:
        """From the first word's start to the last word's end."""
        return self.word_ends[-1][1] / RATE - LEAD_S

    @property
    def target(self) -> str:
        return "zh" if self.language == "en" else "en"

    def heard(self, start: int, stop: int) -> str:
        """What a recogniser writes for samples ``[start, stop)``: the words whose end lies in
        that range, whole (a word belongs to the stretch of audio where it ends)."""
        first = last = 0
        for end, at in self.word_ends:
            if at <= start:
                first = last = end
            elif at <= stop:
                last = end
            else:
                break
        return self.text[first:last].strip()


def words(clause: str, language: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each of ``clause``'s words as the table cuts them (marks are not
    words: the clause's last word carries its mark)."""
    target = "zh" if language == "en" else "en"
    spans = [(a, b) for a, b, _ in pieces(clause, target) if any(c.isalnum() for c in clause[a:b])]
    return [*spans[:-1], (spans[-1][0], len(clause))] if spans else []


def build_speech(clauses: list[str], language: str) -> Speech:
    """espeak-ng speech of ``clauses``, a breath of ``GAP_S`` between them (espeak-ng's own
    silence at each end is trimmed, so the gap is what the segmenter sees). Each word's end is
    placed in its clause's voiced audio by its length in characters."""
    lead = media.silence(LEAD_S)
    parts, ends, text, at = [lead], [], "", len(lead)
    for clause in clauses:
        voice = _speak(clause, language)
        loud = np.flatnonzero(np.abs(voice) > VOICED)
        voice = voice[loud[0] : loud[-1] + 1]
        spans = words(clause, language)
        weight = np.cumsum([end - start for start, end in spans])
        base = len(join_text(text, clause)) - len(clause)
        for (_, end), w in zip(spans, weight, strict=True):
            ends.append((base + end, at + round(len(voice) * float(w) / float(weight[-1]))))
        text = join_text(text, clause)
        parts += [voice, media.silence(GAP_S)]
        at += len(voice) + len(parts[-1])
    parts.append(media.silence(1.2))
    return Speech(np.concatenate(parts).astype(np.float32), text, language, ends)


def utterances(lengths: list[float], per_length: int) -> list[tuple[float, Speech]]:
    """For each length, ``per_length`` utterances per language, each at least that long (less
    0.5 s) and short enough to stay one utterance: under ``MAX_S``, a clause too long for that
    is passed over for the next one that fits."""
    out = []
    for language, bank in SPEECH.items():
        for length in lengths:
            for k in range(per_length):
                order = bank[k * 3 % len(bank) :] + bank[: k * 3 % len(bank)]
                clauses: list[str] = []
                for clause in itertools.islice(itertools.cycle(order), 3 * len(bank)):
                    speech = build_speech([*clauses, clause], language)
                    if speech.seconds > MAX_S:
                        continue
                    clauses.append(clause)
                    if speech.seconds >= length - 0.5:
                        break
                out.append((length, build_speech(clauses, language)))
    return out
