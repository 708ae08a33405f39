"""Model output made fit for a tiny screen: no markdown, no thinking, no runs of blank lines.

Small models write markdown whatever the prompt says, and a ``**`` on a 640-pixel display is
pure noise. :func:`plain_text` is applied to the whole text so far after every streamed delta
(answers are short), so it must be idempotent; an unfinished marker at the end of a stream
simply disappears once its partner arrives.
"""

from __future__ import annotations

import re
from typing import Final

_THINK: Final = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)
_FENCE: Final = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_HEADING: Final = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_QUOTE: Final = re.compile(r"^\s{0,3}>\s?", re.MULTILINE)
_RULE: Final = re.compile(r"^\s*([-*_=])(\s*\1){2,}\s*$", re.MULTILINE)
_BULLET: Final = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)
_TABLE_RULE: Final = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$", re.MULTILINE)
_IMAGE: Final = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK: Final = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_STRONG: Final = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS: Final = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_CODE: Final = re.compile(r"`+([^`\n]*)`+")
_STRAY: Final = re.compile(r"\*\*|__|`")
_BLANKS: Final = re.compile(r"\n{2,}")


def strip_thinking(text: str) -> str:
    """Drop ``<think>…</think>`` blocks, and an unfinished one at the end."""
    return _THINK.sub("", text)


def plain_text(text: str) -> str:
    """``text`` without markdown markup or thinking, trimmed, with single line breaks."""
    text = strip_thinking(text)
    text = _FENCE.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub(r"\1• ", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _STRAY.sub("", text)
    text = "\n".join(
        line.strip().strip("|").replace(" | ", " · ").strip() for line in text.split("\n")
    )
    return _BLANKS.sub("\n", text).strip()


def shorten(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters, cut at a word or sentence boundary with ``…``."""
    if len(text) <= max_chars:
        return text
    cut = text[: max(1, max_chars - 1)]
    boundary = max(cut.rfind(" "), cut.rfind("。"), cut.rfind("，"), cut.rfind("\n"))
    if boundary >= max_chars // 2:
        cut = cut[:boundary]
    return cut.rstrip(" ,.;:，。") + "…"
