"""Line breaking: pure functions over a ``measure(text) -> width_px`` callable.

No fonts here, so unit tests use a fixed-width fake measure. Lines are found greedily; the
longest fitting run is found by galloping then bisecting, so a line costs O(log n) measure
calls instead of one per word (Pillow's ``getlength`` is tens of microseconds).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Final

from glasses.display.charclass import (
    ELLIPSIS,
    NO_BREAK_SPACE,
    NO_LINE_END,
    NO_LINE_START,
    break_options,
    normalise_text,
)

Measure = Callable[[str], float]
LineWidth = Callable[[int], float]  # line index -> available width in pixels

_PREFIX_CHARS: Final = 200  # far more than any line of a glasses display holds
# How many characters a line gives back to break between Chinese words rather than inside
# one (most words have two to four characters).
_WORD_PULLBACK: Final = 4
_TRAILING: Final = " " + NO_BREAK_SPACE


@dataclass(frozen=True)
class Line:
    """One laid-out line: ``text == source[start:end]`` plus ``…`` when ``ellipsis`` is set.

    ``source`` is the *normalised* text (see :func:`normalise_text`).
    """

    text: str
    start: int
    end: int
    ellipsis: bool = False


def _last_fitting(
    text: str, start: int, ends: Sequence[int], measure: Measure, width_px: float
) -> int:
    """Largest ``k`` with ``text[start:ends[k]]`` (less trailing spaces) fitting, or -1.

    ``ends`` ascend, so widths do too: gallop to bracket the answer, then bisect.
    """

    def fits(k: int) -> bool:
        # Widths only grow with length, so a long candidate whose prefix already overflows
        # is rejected without measuring all of it (think of a 5000-character URL).
        stop = ends[k]
        if stop - start > _PREFIX_CHARS and measure(text[start : start + _PREFIX_CHARS]) > width_px:
            return False
        return measure(text[start:stop].rstrip(" ")) <= width_px

    good, step = -1, 1
    while good + step < len(ends) and fits(good + step):
        good += step
        step *= 2
    bad = min(good + step, len(ends))
    while bad - good > 1:  # invariant: fits(good) (or good == -1) and not fits(bad)
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    return good


def _break_overlong(text: str, start: int, stop: int, measure: Measure, width_px: float) -> int:
    """End of the longest prefix of ``text[start:stop]`` that fits, cut between characters.

    Used for words wider than a line; always takes at least one character so layout advances,
    and steps back a little to keep kinsoku where it can. A command too long for any line
    is cut between its words rather than inside one.
    """
    k = _last_fitting(text, start, range(start + 1, stop + 1), measure, width_px)
    end = start + max(k + 1, 1)
    space = text.rfind(NO_BREAK_SPACE, start + 1, end + 1)
    if space > start and end < stop:
        return space + 1
    for _ in range(3):
        if (
            end - start > 1
            and end < len(text)
            and (text[end] in NO_LINE_START or text[end - 1] in NO_LINE_END)
        ):
            end -= 1
    return end


def _word_break(breaks: Sequence[int], between_words: Sequence[bool], first: int, k: int) -> int:
    """``k``, or an earlier break between words close enough to give up the room for."""
    if between_words[k]:
        return k
    for j in range(k - 1, first - 1, -1):
        if breaks[k] - breaks[j] > _WORD_PULLBACK:
            break
        if between_words[j]:
            return j
    return k


def _paragraph_lines(
    text: str, start: int, stop: int, measure: Measure, width_of: Callable[[], float]
) -> Iterator[Line]:
    para = text[start:stop]
    if not para:
        yield Line("", start, start)
        return
    options = break_options(para)
    breaks = [start + p for p, _ in options]
    between_words = [word for _, word in options]
    pos = start
    while pos < stop:
        width_px = width_of()
        first = bisect_right(breaks, pos)  # candidates after pos; never empty
        k = _last_fitting(text, pos, breaks[first:], measure, width_px)
        if k < 0:
            end = _break_overlong(text, pos, breaks[first], measure, width_px)
        else:
            end = breaks[_word_break(breaks, between_words, first, first + k)]
        line = text[pos:end].rstrip(_TRAILING)
        yield Line(line, pos, pos + len(line))
        pos = end
        while pos < stop and text[pos] == " ":
            pos += 1


def iter_lines(text: str, measure: Measure, width_px: float | LineWidth) -> Iterator[Line]:
    """Lazily lay out ``text`` (normalised first); ``width_px`` may vary per line index."""
    width_of_index: LineWidth = width_px if callable(width_px) else (lambda _i: width_px)
    text = normalise_text(text)
    index = 0

    def next_width() -> float:
        nonlocal index
        index += 1
        return width_of_index(index - 1)

    start = 0
    for para in text.split("\n"):
        yield from _paragraph_lines(text, start, start + len(para), measure, next_width)
        start += len(para) + 1


def wrap_lines(text: str, measure: Measure, width_px: float) -> list[Line]:
    """All lines of ``text`` wrapped to ``width_px``; ``\\n`` is a hard break."""
    return list(iter_lines(text, measure, width_px))


def with_ellipsis(line: Line, measure: Measure, width_px: float) -> Line:
    """``line`` shortened as needed so that it ends with ``…`` and still fits."""
    body = line.text
    while body and measure(body + ELLIPSIS) > width_px:
        body = body[:-1]
    body = body.rstrip(" ")
    while body and body[-1] in NO_LINE_END:  # a dangling opening bracket says nothing
        body = body[:-1].rstrip(" ")
    return Line(body + ELLIPSIS, line.start, line.start + len(body), ellipsis=True)


def fit_lines(text: str, measure: Measure, width_px: float, max_lines: int) -> list[Line]:
    """At most ``max_lines`` lines; if text is cut off, the last line ends with ``…``."""
    if max_lines <= 0:
        return []
    lines = list(islice(iter_lines(text, measure, width_px), max_lines + 1))
    if len(lines) <= max_lines:
        return lines
    return [*lines[: max_lines - 1], with_ellipsis(lines[max_lines - 1], measure, width_px)]


def paginate(
    text: str,
    measure: Measure,
    width_px: float,
    lines_per_page: int,
    last_line_width_px: float | None = None,
) -> list[list[Line]]:
    """Split ``text`` into pages of ``lines_per_page`` lines (at least one page).

    ``last_line_width_px`` narrows each page's last line, leaving room for a page indicator.
    """
    per_page = max(lines_per_page, 1)
    last_px = width_px if last_line_width_px is None else last_line_width_px

    def width_of(index: int) -> float:
        return last_px if index % per_page == per_page - 1 else width_px

    lines = list(iter_lines(text, measure, width_of))
    return [lines[i : i + per_page] for i in range(0, len(lines), per_page)] or [[]]
