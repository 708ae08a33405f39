"""Greedy CTC decoding of PP-OCR's recogniser that keeps the word spaces it almost emits.

PP-OCR's Chinese recogniser has a space class, but on a long mixed line ("西湖游船 West Lake
boats" read from a 960-pixel sign) the blank class wins every column of each gap, so plain
greedy decoding (rapidocr's) returns "西湖游船WestLakeboats".  The space class still rises in
those gaps.  Measured on signs drawn in Noto Sans CJK (640 to 1400 px wide, 40 to 64 px text,
sharp, blurred, rotated and seen in perspective), the highest space probability in a gap is:

* between two Latin letters or digits: 0.039 or more at a word space, at most 0.005 inside a
  word or number ("Tickets", "9:00"); 0.01 to 0.023 between the N and K of a small "LINK"
  (a status bar read back from the screen), so the bar is set at :data:`WORD_SPACE_MIN_PROB`;
* where Han meets Latin: 0.01 or more at nearly every space ("游船 West", "元 Tickets"),
  at most 0.001 where the sign has none ("55元", "第3站", "WiFi密码"): a script change gets a
  space on weaker evidence (:data:`SCRIPT_SPACE_MIN_PROB`), as typeset Chinese with English
  usually has one there;
* between two Han characters: about 0.001 at a real space and up to 0.1 inside "出口" seen at
  an angle, i.e. noise.  Chinese is set solid, so no space is added there.

Spaces are only added between letters or digits (not next to punctuation, where a glyph's side
bearing reads as a gap: "(speech…)"), and spaces the recogniser does emit are kept.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

WORD_SPACE_MIN_PROB: Final = 0.03  # between two narrow (Latin, digit) characters
SCRIPT_SPACE_MIN_PROB: Final = 0.005  # between a wide (CJK) and a narrow character
BLANK: Final = 0  # CTC blank: index 0 in rapidocr's character list


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def space_min_prob(before: str, after: str) -> float | None:
    """The space probability a gap between ``before`` and ``after`` needs to become a space;
    None where no space is added (two CJK characters, punctuation)."""
    if not (before.isalnum() and after.isalnum()):
        return None
    wide = _wide(before), _wide(after)
    if all(wide):
        return None
    return SCRIPT_SPACE_MIN_PROB if any(wide) else WORD_SPACE_MIN_PROB


def decode_with_spaces(
    preds: npt.NDArray[np.floating[Any]], characters: Sequence[str], space_index: int
) -> list[tuple[str, float]]:
    """``(text, confidence)`` per row of ``preds`` (batch x time x classes, softmax output).

    Confidence is rapidocr's: the mean top probability of the emitted columns.
    """
    results: list[tuple[str, float]] = []
    for probs in np.asarray(preds):
        best = probs.argmax(axis=1)
        top = probs.max(axis=1)
        text: list[str] = []
        confidences: list[float] = []
        last_end = -1  # last column of the previous emitted character's run
        for t, index in enumerate(best):
            if index == BLANK or (t > 0 and best[t - 1] == index):
                if index != BLANK:
                    last_end = t
                continue
            char = characters[index]
            confidences.append(float(top[t]))
            needed = space_min_prob(text[-1][-1], char[0]) if text and char else None
            if (
                needed is not None
                and t - last_end > 1
                and float(probs[last_end + 1 : t, space_index].max()) >= needed
            ):
                text.append(" ")
            text.append(char)
            last_end = t
        results.append(("".join(text), float(np.mean(confidences)) if confidences else 0.0))
    return results


class SpacedCtcDecode:
    """Stands in for rapidocr's ``CTCLabelDecode`` (``text_rec.postprocess_op``); calls that ask
    for word boxes go to the original, which this module does not need."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.character: list[str] = list(original.character)
        self.space_index = len(self.character) - 1  # rapidocr appends " " after the model's dict

    def __call__(
        self, preds: npt.NDArray[np.floating[Any]], return_word_box: bool = False, **kwargs: Any
    ) -> Any:
        if return_word_box:
            return self.original(preds, return_word_box, **kwargs)
        return decode_with_spaces(preds, self.character, self.space_index)


def install(engine: Any) -> bool:
    """Swap the decoder of a ``RapidOCR`` instance; False (plain decoding) where this rapidocr
    version has no ``text_rec.postprocess_op`` with a trailing space class."""
    recogniser = getattr(engine, "text_rec", None)
    original = getattr(recogniser, "postprocess_op", None)
    character = getattr(original, "character", None)
    if recogniser is None or not character or character[-1] != " ":
        return False
    recogniser.postprocess_op = SpacedCtcDecode(original)
    return True
