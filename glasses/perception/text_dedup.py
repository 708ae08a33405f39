"""Not saying the same sign twice: a pure filter over OCR results of successive frames.

The camera sees the same sign in many frames, and OCR of each differs a little (a dropped
letter, a confusable glyph).  Text is compared after normalisation (Unicode NFKC, case folded,
whitespace and punctuation removed) and counts as already seen when it is similar enough
(difflib ratio) to something read within the last ``memory_frames`` frames.  Frame indices are
the clock: the filter is a pure function of what it was fed.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from glasses.perception.text_layout import TextLine


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def similar(a: str, b: str, threshold: float) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 3:  # one glyph in two is a different word, not OCR noise
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


@dataclass(frozen=True)
class DedupConfig:
    memory_frames: int = 30  # forget text not seen for this many frames; it may be said again
    similarity: float = 0.8
    max_remembered: int = 256  # bound on memory, whatever the scene


class TextDeduplicator:
    """``filter(frame_index, lines)`` returns only the lines not read recently."""

    def __init__(self, config: DedupConfig | None = None) -> None:
        self.config = config or DedupConfig()
        self._seen: dict[str, int] = {}  # normalised text -> last frame index it was read in

    def filter(self, frame_index: int, lines: Sequence[TextLine]) -> list[TextLine]:
        c = self.config
        self._seen = {
            text: last for text, last in self._seen.items() if frame_index - last <= c.memory_frames
        }
        fresh: list[TextLine] = []
        for line in lines:
            key = normalise(line.text)
            if not key:
                continue
            match = next((seen for seen in self._seen if similar(key, seen, c.similarity)), None)
            if match is None:
                fresh.append(line)
            else:
                # Remember the newest form, so slowly drifting OCR keeps matching.
                del self._seen[match]
            self._seen[key] = frame_index
        if len(self._seen) > c.max_remembered:
            newest = sorted(self._seen.items(), key=lambda kv: kv[1])[-c.max_remembered :]
            self._seen = dict(newest)
        return fresh
