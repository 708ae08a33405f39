"""Line breaking with a fake fixed-width measure: no fonts involved."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasses.display.charclass import (
    ELLIPSIS,
    NO_LINE_END,
    NO_LINE_START,
    is_wide,
    normalise_text,
)
from glasses.display.layout import Line, fit_lines, paginate, wrap_lines

pytestmark = pytest.mark.fast

UNIT_PX = 10  # a Latin character; CJK characters are twice as wide


def measure(text: str) -> float:
    return sum(2 * UNIT_PX if is_wide(ch) else UNIT_PX for ch in text)


def wrap(text: str, width_units: int) -> list[str]:
    return [line.text for line in wrap_lines(text, measure, width_units * UNIT_PX)]


def test_latin_words_wrap_at_spaces() -> None:
    lines = wrap("the quick brown fox jumps over the lazy dog", 10)
    assert lines == ["the quick", "brown fox", "jumps over", "the lazy", "dog"]


def test_text_that_fits_stays_on_one_line() -> None:
    assert wrap("hello world", 11) == ["hello world"]
    assert wrap("", 5) == [""]


def test_cjk_breaks_between_words_where_the_line_has_room() -> None:
    # Not 我们今 / 天去火 / 车站坐 / 车: lines give back a character or two to end at a word.
    assert wrap("我们今天去火车站坐车", 6) == ["我们", "今天去", "火车站", "坐车"]
    assert wrap("今天我们去吃牛肉面", 8) == ["今天我们", "去吃", "牛肉面"]
    assert wrap("我们去吃牛肉面", 8) == ["我们去吃", "牛肉面"]  # not 我们去吃牛 / 肉面


def test_cjk_still_breaks_inside_a_word_too_long_to_keep() -> None:
    # No word boundary within reach: the line is filled, as before.
    assert wrap("中华人民共和国国歌", 6) == ["中华人", "民共和", "国国歌"]
    assert wrap("牛肉面", 4) == ["牛肉", "面"]


def test_korean_prefers_its_spaces() -> None:
    assert wrap("한국어 문장입니다", 10) == ["한국어", "문장입니다"]


# Exact lines for the body widths of the display profiles, in this module's fake units
# (the 128x64 panel's body holds about 20 Latin characters, the 576x136 one about 50).
HINT = "no language model: `glasses models pull qwen3-0.6b-int4`"


@pytest.mark.parametrize(
    ("width_units", "expected"),
    [
        (20, ["no language model:", "glasses\u00a0models\u00a0pull", "qwen3-0.6b-int4"]),
        (50, ["no language model:", "glasses\u00a0models\u00a0pull\u00a0qwen3-0.6b-int4"]),
        (60, ["no language model: glasses\u00a0models\u00a0pull\u00a0qwen3-0.6b-int4"]),
    ],
)
def test_a_command_moves_to_the_next_line_whole(width_units: int, expected: list[str]) -> None:
    # At 20 units the command cannot fit anywhere: it is cut between its words, never
    # inside one (modes show "see glasses doctor" instead, see ModeContext.hint).
    assert wrap(HINT, width_units) == expected


def test_a_name_with_digits_is_not_broken_at_its_hyphens() -> None:
    assert wrap("pull qwen3-0.6b-int4 now", 16) == ["pull", "qwen3-0.6b-int4", "now"]
    assert wrap("no model: glasses models pull qwen3-0.6b-int4", 40) == [
        "no model: glasses models pull",
        "qwen3-0.6b-int4",
    ]


def test_backticks_mark_a_command_and_are_not_drawn() -> None:
    assert normalise_text("run `glasses  doctor` now") == "run glasses\u00a0doctor now"
    assert normalise_text(normalise_text("a `b c` `d")) == "a b\u00a0c `d"
    assert wrap("run `glasses doctor` now", 16) == ["run", "glasses\u00a0doctor", "now"]


def test_cjk_closing_punctuation_never_starts_a_line() -> None:
    for width in range(6, 14):  # narrower lines cannot hold the cluster 很好）。
        for line in wrap("我们去吃牛肉面，好吗？（很好）。", width)[1:]:
            assert line[0] not in "，。、）？", (width, line)


def test_full_stop_never_starts_a_line() -> None:
    # "你好" fills the line exactly; the 。 takes 好 along to the next line instead.
    assert wrap("你好。世界", 4) == ["你", "好。", "世界"]


def test_opening_quote_never_ends_a_line() -> None:
    # "他说“" would fit in 5 units, but the quote goes down with the word it opens.
    assert wrap("他说“你好”再见", 5) == ["他说", "“你", "好”", "再见"]  # 再见 kept whole


@pytest.mark.parametrize("width_units", range(6, 40))
def test_kinsoku_holds_at_every_width(width_units: int) -> None:
    # From 6 units up every glued cluster (e.g. "里？」") fits on a line; narrower lines
    # must cut inside a cluster and kinsoku cannot hold there.
    text = "“你好，”他说。「今天（星期一）去哪里？」她问：“去西湖！”然后，我们走了……"
    lines = wrap(text, width_units)
    assert "".join(lines) == text
    for line in lines[1:]:
        assert line[0] not in NO_LINE_START, lines
    for line in lines[:-1]:
        assert line[-1] not in NO_LINE_END, lines


def test_ascii_punctuation_follows_kinsoku_too() -> None:
    lines = wrap("去西湖(West Lake)吧,好吗?", 7)
    for line in lines[1:]:
        assert line[0] not in ")],.?!:;", lines
    for line in lines[:-1]:
        assert line[-1] not in "([", lines


def test_mixed_scripts_keep_latin_words_whole() -> None:
    lines = wrap("我们去 Hangzhou 火车站 at 5pm", 10)
    assert lines == ["我们去", "Hangzhou", "火车站 at", "5pm"]
    for width_units in range(8, 30):
        words = " ".join(wrap("我们去 Hangzhou 火车站 at 5pm", width_units)).split()
        assert "Hangzhou" in words and "5pm" in words


def test_latin_may_break_next_to_cjk_without_space() -> None:
    assert wrap("去Hangzhou站", 9) == ["去", "Hangzhou", "站"]


def test_hard_newlines_break_lines() -> None:
    assert wrap("one\ntwo\r\nthree\rfour", 20) == ["one", "two", "three", "four"]
    assert wrap("a\n\nb", 5) == ["a", "", "b"]


def test_control_and_invisible_characters_are_dropped() -> None:
    assert normalise_text("a\tb\x00c\u200bd\ufeff  e ") == "a bcd e"
    assert normalise_text("  x \n  y") == "x\ny"
    assert wrap("tab\there", 20) == ["tab here"]


def test_overlong_word_is_broken_by_character() -> None:
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    lines = wrap(f"a {word} b", 10)
    assert lines[0] == "a"
    assert "".join(lines[1:-1]) + lines[-1].removesuffix(" b") == word
    assert all(len(line) <= 10 for line in lines)


def test_inner_hyphen_is_a_break_opportunity() -> None:
    assert wrap("state-of-the-art", 9) == ["state-of-", "the-art"]
    assert wrap("x -5", 3) == ["x", "-5"]


def test_lines_know_where_they_come_from() -> None:
    text = normalise_text("我们去 Hangzhou 火车站 at 5pm\nnext para")
    for line in wrap_lines(text, measure, 70):
        assert text[line.start : line.end] == line.text


def test_ellipsis_when_text_does_not_fit() -> None:
    lines = fit_lines("the quick brown fox jumps over the lazy dog", measure, 100, 2)
    assert [line.text for line in lines] == ["the quick", "brown fox" + ELLIPSIS]
    assert lines[-1].ellipsis
    assert all(measure(line.text) <= 100 for line in lines)


def test_ellipsis_replaces_characters_when_needed() -> None:
    lines = fit_lines("我们今天去火车站坐车", measure, 60, 2)
    assert [line.text for line in lines] == ["我们", "今天" + ELLIPSIS]


def test_no_ellipsis_when_text_fits() -> None:
    lines = fit_lines("short text", measure, 100, 2)
    assert lines == [Line("short text", 0, 10)]
    assert fit_lines("anything", measure, 100, 0) == []


def test_paginate_splits_and_narrows_each_page_last_line() -> None:
    text = " ".join(["word"] * 20)
    pages = paginate(text, measure, 100, 3, last_line_width_px=50)
    assert all(len(page) == 3 for page in pages[:-1])
    for page in pages:
        assert all(measure(line.text) <= 100 for line in page)
        if len(page) == 3:
            assert measure(page[-1].text) <= 50
    assert " ".join(line.text for page in pages for line in page) == text
    assert paginate("", measure, 100, 3) == [[Line("", 0, 0)]]


_ALPHABET = st.sampled_from([*"ab xyz我们火车站。，、“”「」（）()?!.-\n", "Hangzhou "])


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join), st.integers(min_value=2, max_value=30))
def test_wrapping_loses_nothing_and_fits(text: str, width_units: int) -> None:
    source = normalise_text(text)
    lines = wrap_lines(source, measure, width_units * UNIT_PX)
    rebuilt = []
    for line in lines:
        assert source[line.start : line.end] == line.text
        assert len(line.text) == 1 or measure(line.text) <= width_units * UNIT_PX
        rebuilt.append(line.text)
    # Only the spaces at soft breaks and the newlines themselves are consumed.
    assert "".join(rebuilt).replace(" ", "") == source.replace(" ", "").replace("\n", "")
