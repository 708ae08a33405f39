"""Clause commits: translate a clause as soon as the recogniser has settled it.

Translate mode used to wait for the end of an utterance. With ``translate.commit = "clause"``
the settled prefix of the partial transcript is cut into clauses, each translated at once and
shown as final caption text; the final transcript then only translates what is left.

A clause ends at punctuation the recogniser wrote, at a pause the VAD sees inside the
utterance, or after ``max_words`` words (a character of Chinese or Japanese counts as a word).
Everything here is pure: text and durations in, cut positions out.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Final, Literal

# Marks that always end a clause (full-width forms and the ellipsis cannot be a decimal point).
_FULL_MARKS: Final = frozenset("。！？；，：…")
# ASCII marks end a clause only before a space: "3.5" and "e.g." stay whole.
_ASCII_MARKS: Final = frozenset(",.!?;:")
# Scripts written without spaces: every character is a word.
_UNSPACED: Final = ((0x2E80, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x3134F))

Commit = Literal["clause", "utterance"]


@dataclass(frozen=True)
class ClausePolicy:
    """How translate mode cuts speech (the ``translate.*`` settings; defaults documented there)."""

    commit: Commit = "clause"  # "utterance": wait for the end of each utterance, as before
    pause_s: float = 0.3  # a pause this long inside an utterance ends a clause
    max_words: int = 12  # a clause this long is committed without punctuation or a pause
    tentative: bool = True  # re-translate the uncommitted tail between commits, drawn dim
    agreement: int = 2  # successive tentative translations that must agree on a settled word
    lookahead_words: int = 1  # unsettled words of the recogniser in a tentative re-translation
    max_queued: int = 4  # committed clauses waiting for the model; more are merged

    def __post_init__(self) -> None:
        if self.commit not in ("clause", "utterance"):
            raise ValueError(f"commit must be 'clause' or 'utterance', got {self.commit!r}")
        if self.max_words < 1 or self.agreement < 1 or self.max_queued < 1:
            raise ValueError("max_words, agreement and max_queued must be at least 1")
        if self.pause_s <= 0 or self.lookahead_words < 0:
            raise ValueError("pause_s must be positive and lookahead_words not negative")

    @property
    def by_clause(self) -> bool:
        return self.commit == "clause"


def unspaced(ch: str) -> bool:
    return any(lo <= ord(ch) <= hi for lo, hi in _UNSPACED)


def _in_word(ch: str) -> bool:
    return ch.isalnum() and not unspaced(ch)


def word_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each word: a run of letters/digits, or one unspaced character."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if unspaced(ch):
            spans.append((i, i + 1))
            i += 1
        elif _in_word(ch):
            j = i
            while j < len(text) and _in_word(text[j]):
                j += 1
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def head_words(text: str, n: int) -> str:
    """The first ``n`` words of ``text`` (with what lies between them)."""
    spans = word_spans(text)
    return text[: spans[n - 1][1]] if 0 < n <= len(spans) else (text if n > 0 else "")


def join_text(a: str, b: str) -> str:
    """``a`` then ``b``, with a space between words of spaced scripts."""
    a, b = a.rstrip(), b.strip()
    if not a or not b:
        return a or b
    glue = "" if unspaced(a[-1]) or unspaced(b[0]) else " "
    return a + glue + b


def clause_end(pending: str, pause_s: float, policy: ClausePolicy) -> int:
    """How much of ``pending`` (settled, not yet committed text) to commit now: 0 for nothing.

    ``pause_s`` is how long the VAD has heard no speech at the end of the open utterance.
    """
    if not policy.by_clause or not pending.strip():
        return 0
    cut = 0
    for i, ch in enumerate(pending):
        if ch in _FULL_MARKS or (
            ch in _ASCII_MARKS and i + 1 < len(pending) and pending[i + 1].isspace()
        ):
            cut = i + 1
    if pause_s >= policy.pause_s:
        cut = len(pending)
    while len(rest := word_spans(pending[cut:])) >= policy.max_words:
        cut += rest[policy.max_words - 1][1]
    while cut < len(pending) and pending[cut].isspace():
        cut += 1
    return cut if pending[:cut].strip() else 0


def _fold(text: str) -> str:
    """Lower case, one character for one (recognisers change case between decodes)."""
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def aligned_end(done: str, text: str) -> int:
    """Where the part of ``text`` that ``done`` already covered ends.

    ``done`` is the text committed from earlier decodes; ``text`` a newer decode of the same
    utterance that may differ in case, punctuation or a word. The end of ``done``'s last
    matching run is carried over to ``text`` (plus what ``done`` has after it), then moved
    forward out of a word, so the rest of ``text`` is what still needs translating.
    """
    if not done:
        return 0
    if text.startswith(done):
        return len(done)
    matcher = difflib.SequenceMatcher(None, _fold(done), _fold(text), autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return 0
    last = blocks[-1]
    end = min(last.b + last.size + len(done) - (last.a + last.size), len(text))
    while 0 < end < len(text) and _in_word(text[end - 1]) and _in_word(text[end]):
        end += 1
    return end
