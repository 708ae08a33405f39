"""Character classes for line breaking, and the text clean-up done before layout.

Pure functions, no fonts: ``layout`` uses them to decide where a line may break.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

# Kinsoku shori: characters that must not start a line (closing brackets and quotes, sentence
# punctuation, iteration marks, the prolonged-sound mark and small kana) ...
NO_LINE_START: Final = frozenset(
    "，。、．・：；？！‼⁇⁈⁉〜～…‥ー々〻ゝゞヽヾ゛゜"
    "）］｝〕〉》」』】〙〗〟｠｣”’»›"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
    "℃°′″‰％"
    ")]},.;:!?%"
)
# ... and characters that must not end one (opening brackets and quotes).
NO_LINE_END: Final = frozenset("（［｛〔〈《「『【〘〖〝｟｢“‘«‹([{")

ELLIPSIS: Final = "…"

# Hard line breaks in any of their Unicode spellings.
_NEWLINES: Final = re.compile(r"\r\n|[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_SPACES: Final = re.compile(r" +")
# Newlines, the ideographic space (a full-width CJK character) and the no-break spaces keep
# their meaning; every other kind of whitespace becomes a plain breaking space.
_KEPT_SPACES: Final = frozenset("\n\u3000\u00a0\u2007\u202f")


@lru_cache(maxsize=4096)
def is_wide(char: str) -> bool:
    """True for characters set solid without spaces (CJK, kana, hangul, fullwidth forms).

    Such scripts may break between any two characters, unlike space-separated words.
    """
    return unicodedata.east_asian_width(char) in ("W", "F", "H")


def _keep(char: str) -> bool:
    # Other controls and format characters (ZWSP, BOM, bidi marks, variation selectors) would
    # render as tofu with a plain layout engine and carry nothing visible, so they go.
    if char in "\n ":
        return True
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs"):
        return False
    return not ("\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef")


def normalise_text(text: str) -> str:
    """Clean text for layout: one ``\\n`` per hard break, tabs and space runs become one space,
    invisible control/format characters are dropped and spaces around breaks are trimmed.

    Idempotent, so layout offsets into the result stay valid if it is normalised again.
    """
    text = _NEWLINES.sub("\n", text)
    text = "".join(" " if ch.isspace() and ch not in _KEPT_SPACES else ch for ch in text)
    text = "".join(ch for ch in text if _keep(ch))
    text = _SPACES.sub(" ", text)
    return "\n".join(part.strip(" ") for part in text.split("\n"))


def break_positions(paragraph: str) -> list[int]:
    """Offsets ``p`` where a soft line break may go before ``paragraph[p]``, then ``len``.

    Spaces stay at the end of the line they follow; CJK may break between any two characters
    except where kinsoku forbids; Latin words break only at spaces and after an inner hyphen.
    """
    positions: list[int] = []
    for pos in range(1, len(paragraph)):
        before, after = paragraph[pos - 1], paragraph[pos]
        if after == " " or after in NO_LINE_START or before in NO_LINE_END:
            continue
        if (
            before == " "
            or is_wide(before)
            or is_wide(after)
            or (before == "-" and pos >= 2 and paragraph[pos - 2].isalpha() and after.isalnum())
        ):
            positions.append(pos)
    positions.append(len(paragraph))
    return positions


def visible_chars(text: str) -> set[str]:
    """The characters of ``text`` that need a glyph (whitespace carries none)."""
    return {ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc")}
