"""Local agreement: which words of a tentative translation may be drawn as settled.

Between clause commits the uncommitted tail of the utterance is re-translated as it grows.
Each re-translation may change its end, so only the words that the last ``window`` successive
translations agree on are drawn like final text; the rest is drawn dim. The line then does not
flicker: a word appears settled only once two translations of a growing source kept it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from glasses.modes.clauses import unspaced


def agreed_prefix(translations: Sequence[str]) -> str:
    """The longest common prefix of ``translations``, never ending inside a word."""
    if not translations:
        return ""
    shortest = min(translations, key=len)
    size = next(
        (i for i, ch in enumerate(shortest) if any(t[i] != ch for t in translations)),
        len(shortest),
    )
    cut = size
    # Back off out of a word that one of them continues ("muse" of "museum").
    if any(len(t) > cut and _in_word(t[cut]) for t in translations):
        while cut and _in_word(shortest[cut - 1]):
            cut -= 1
    return shortest[:cut]


def _in_word(ch: str) -> bool:
    return ch.isalnum() and not unspaced(ch)


class LocalAgreement:
    """The tentative translations of one uncommitted tail, newest last."""

    def __init__(self, window: int = 2) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        self.window = window
        self._recent: deque[str] = deque(maxlen=window)

    @property
    def latest(self) -> str:
        return self._recent[-1] if self._recent else ""

    def push(self, translation: str) -> str:
        """Take the newest translation; returns its agreed prefix (whole words only)."""
        self._recent.append(translation.strip())
        return self.agreed

    @property
    def agreed(self) -> str:
        if len(self._recent) < self.window:  # one translation agreeing with itself proves nothing
            return ""
        return agreed_prefix(list(self._recent))

    def reset(self) -> None:
        """The tail was committed (or the utterance ended): start agreeing afresh."""
        self._recent.clear()
