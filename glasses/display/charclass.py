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
# Joins the words of a command (`glasses doctor`) so that no line break falls inside it.
NO_BREAK_SPACE: Final = "\u00a0"
# A command to type, marked as in Markdown: kept on one line, drawn without the backticks.
_COMMAND: Final = re.compile(r"`([^`\n]+)`")

# Dictionary-free Chinese word breaking: inside a run of Han characters a line breaks after
# one of these particles, function words and common verbs (they end a word: 我们 / 去 / 吃 /
# 牛肉面) rather than inside a word; runs without them (火车站, 牛肉面) stay whole when the
# line has room. Korean puts spaces between words, so hangul breaks there too by preference.
HAN_BREAK_AFTER: Final = frozenset("们的了着吗呢吧啊呀是在和与就都也又把被给从到让去吃很")

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
    text = _COMMAND.sub(_command, text)
    return "\n".join(part.strip(" ") for part in text.split("\n"))


def _command(match: re.Match[str]) -> str:
    return match.group(1).strip(" ").replace(" ", NO_BREAK_SPACE)


def command(text: str) -> str:
    """``text`` marked as a command to type: layout keeps it on one line, unbroken."""
    return f"`{text}`"


@lru_cache(maxsize=4096)
def is_han(char: str) -> bool:
    """Chinese characters (CJK unified ideographs and their extensions)."""
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


def _is_hangul(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3" or "\u1100" <= char <= "\u11ff"


def _plain_word(paragraph: str, pos: int) -> bool:
    """Whether the space-delimited word around ``pos`` is only letters and hyphens: such
    words may break after an inner hyphen; names, versions and paths (qwen3-0.6b-int4) not."""
    start = paragraph.rfind(" ", 0, pos) + 1
    end = paragraph.find(" ", pos)
    word = paragraph[start : len(paragraph) if end < 0 else end]
    return all(ch.isalpha() or ch == "-" for ch in word)


def break_positions(paragraph: str) -> list[int]:
    """Offsets ``p`` where a soft line break may go before ``paragraph[p]``, then ``len``.

    Spaces stay at the end of the line they follow; CJK may break between any two characters
    except where kinsoku forbids; Latin words break only at spaces and after an inner hyphen
    of a word made of letters; no-break spaces (commands) never break.
    """
    return [pos for pos, _word in break_options(paragraph)]


def break_options(paragraph: str) -> list[tuple[int, bool]]:
    """:func:`break_positions`, each with whether it falls between words: ``False`` inside a
    Chinese or Korean word (see :data:`HAN_BREAK_AFTER`), where layout breaks only when no
    word boundary is near."""
    options: list[tuple[int, bool]] = []
    for pos in range(1, len(paragraph)):
        before, after = paragraph[pos - 1], paragraph[pos]
        if after == " " or after in NO_LINE_START or before in NO_LINE_END:
            continue
        if before == " ":
            options.append((pos, True))
        elif is_wide(before) or is_wide(after):
            if is_han(before) and is_han(after):
                options.append((pos, before in HAN_BREAK_AFTER))
            else:
                options.append((pos, not (_is_hangul(before) and _is_hangul(after))))
        elif (
            before == "-"
            and pos >= 2
            and paragraph[pos - 2].isalpha()
            and after.isalpha()
            and _plain_word(paragraph, pos)
        ):
            options.append((pos, True))
    options.append((len(paragraph), True))
    return options


def visible_chars(text: str) -> set[str]:
    """The characters of ``text`` that need a glyph (whitespace carries none)."""
    return {ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc")}
