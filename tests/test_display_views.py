"""Views and their placement on screen, with fake font metrics (no fonts, no pixels)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from firmware_bridge.protocol.geometry import PROFILES, DisplayGeometry
from glasses.display.charclass import is_wide, normalise_text
from glasses.display.scene import FontRole, Ink, ScreenLayout, TextMetrics
from glasses.display.statusline import (
    Icon,
    IconKind,
    StatusLine,
    icon_art,
    piece_width,
    status_line,
)
from glasses.display.views import (
    CAPTION_HISTORY_CHARS,
    CaptionView,
    LinkState,
    LlmSource,
    Mode,
    PageButton,
    PageView,
    Screen,
    StatusBar,
    TextView,
)

pytestmark = pytest.mark.fast


def measure(text: str) -> float:
    return sum(20 if is_wide(ch) else 10 for ch in text)


def small_measure(text: str) -> float:
    return 7.0 * len(text)


GEOMETRY = DisplayGeometry(640, 400, 4)
LAYOUT = ScreenLayout(GEOMETRY, TextMetrics(measure, 16, 20), TextMetrics(small_measure, 10, 14))
STATUS = StatusBar(Mode.CAPTIONS, LinkState.CONNECTED, 87, charging=True, llm=LlmSource.LOCAL)


def test_geometry_validates_and_parses() -> None:
    assert DisplayGeometry.parse("640x400x4") == DisplayGeometry(640, 400, 4)
    assert DisplayGeometry.parse("128x64x1").max_level == 1
    assert {g.name for g in PROFILES.values()} == {"640x400x4", "576x136x1", "128x64x1"}
    with pytest.raises(ValueError):
        DisplayGeometry(128, 64, 3)
    with pytest.raises(ValueError):
        DisplayGeometry.parse("big")


def test_caption_segments_join_by_script() -> None:
    view = CaptionView().with_final("Hello there").with_final("我们去").with_final("火车站")
    assert view.with_partial("at 5pm").joined() == ("Hello there 我们去火车站 at 5pm", 19)
    assert CaptionView(("你好。",)).with_partial("Hi").joined() == ("你好。Hi", 3)
    latin = CaptionView().with_final("one").with_final("two").with_partial("three")
    text, split = latin.joined()
    assert (text, text[split:]) == ("one two three", "three")
    assert normalise_text(text) == text  # so layout offsets index it directly


def test_the_settled_prefix_of_a_partial_is_drawn_like_final_text() -> None:
    view = CaptionView().with_final("final words").with_partial("maybe these", stable="maybe ")
    assert view.joined() == ("final words maybe these", len("final words maybe"))
    runs = LAYOUT.scene(Screen(view)).runs
    assert [(run.text.strip(), run.ink) for run in runs] == [
        ("final words maybe", Ink.TEXT),
        ("these", Ink.PARTIAL),
    ]
    # A "stable" text that is not a prefix (the recogniser changed its mind) settles nothing.
    assert view.with_partial("may be these", stable="maybe ").settled == 0
    assert view.with_final("maybe these").settled == 0


def test_final_replaces_partial_and_history_is_bounded() -> None:
    view = CaptionView().with_partial("hel").with_partial("hello wor")
    assert view.partial == "hello wor"
    view = view.with_final("hello world")
    assert (view.final, view.partial) == (("hello world",), "")
    for i in range(500):
        view = view.with_final(f"segment {i}")
    assert sum(len(s) for s in view.final) <= CAPTION_HISTORY_CHARS
    assert view.final[-1] == "segment 499"
    assert view.cleared() == CaptionView(max_lines=view.max_lines)


def test_captions_roll_newest_at_bottom() -> None:
    view = CaptionView(max_lines=3)
    for i in range(20):
        view = view.with_final(f"line{i:02d} " + "x" * 50)  # each segment fills one line
    scene = LAYOUT.scene(Screen(view))
    body = [run for run in scene.runs if run.role is FontRole.BODY]
    assert [run.text.split()[0] for run in body] == ["line17", "line18", "line19"]
    baselines = [run.baseline_px for run in body]
    assert baselines == sorted(baselines)
    # Bottom-aligned: the newest line is on the body's last line slot.
    box = LAYOUT.body_box(with_status=False)
    assert baselines[-1] + 20 - 16 <= box.y_px + box.height_px


def test_partial_text_has_its_own_ink_and_1bpp_underline() -> None:
    view = CaptionView().with_final("final words").with_partial("maybe these")
    runs = LAYOUT.scene(Screen(view)).runs
    assert [(run.text.strip(), run.ink) for run in runs] == [
        ("final words", Ink.TEXT),
        ("maybe these", Ink.PARTIAL),
    ]
    assert runs[1].x_px == runs[0].x_px + measure("final words ")
    assert runs[0].baseline_px == runs[1].baseline_px
    assert not LAYOUT.scene(Screen(view)).rules  # grey levels are enough at 4 bpp

    mono = ScreenLayout(DisplayGeometry(576, 136, 1), LAYOUT.body, LAYOUT.small)
    mono_scene = mono.scene(Screen(view))
    (rule,) = mono_scene.rules
    assert rule.dotted and rule.ink is Ink.PARTIAL
    assert (rule.x0_px, rule.x1_px) == (
        mono_scene.runs[1].x_px,
        mono_scene.runs[1].x_px + measure("maybe these"),
    )


def test_text_view_is_cut_with_ellipsis() -> None:
    lines = LAYOUT.body_lines(with_status=False)
    runs = LAYOUT.scene(Screen(TextView("word " * 1000))).runs
    assert len(runs) == lines
    assert runs[-1].text.endswith("…")


def test_page_view_pages_and_buttons() -> None:
    view = LAYOUT.page_view(" ".join(f"w{i}" for i in range(2000)))
    assert view.page_count > 2 and view.page_index == 0
    assert len(view.lines) == LAYOUT.body_lines(with_status=True)
    assert view.previous_page() == view  # clamped at the first page
    second = view.on_button(PageButton.NEXT)
    assert (second.page_index, second.indicator) == (1, f"2/{view.page_count}")
    assert second.on_button(PageButton.PREVIOUS) == view
    last = PageView(view.pages, view.page_count - 1)
    assert last.next_page() == last
    with pytest.raises(ValueError):
        PageView(view.pages, view.page_count)


def test_page_indicator_sits_beside_the_shortened_last_line() -> None:
    view = LAYOUT.page_view("word " * 2000).next_page()
    runs = LAYOUT.scene(Screen(view, STATUS)).runs
    indicator = runs[-1]
    assert (indicator.text, indicator.role, indicator.ink) == (
        f"2/{view.page_count}",
        FontRole.SMALL,
        Ink.DIM,
    )
    last_line = [run for run in runs if run.role is FontRole.BODY][-1]
    assert last_line.baseline_px == indicator.baseline_px
    assert last_line.x_px + measure(last_line.text) < indicator.x_px
    assert not PageView.from_text("short", measure, 600, 5).indicator


def _status(bar: StatusBar, width_px: float) -> StatusLine:
    return status_line(bar, small_measure, width_px, LAYOUT.icon_width)


def _width(line: StatusLine) -> float:
    pieces = [piece_width(p, small_measure, LAYOUT.icon_width) for p in line.right]
    return small_measure(line.left) + sum(pieces) + line.gap_px * (len(pieces) - 1)


def test_status_bar_says_what_a_wearer_needs_in_words() -> None:
    # Not "LINK": the link state, the model's place and the battery in plain words.
    line = _status(STATUS, 620)
    assert line.text() == "CAPTIONS Model local Linked [battery]87% charging"
    remote = replace(STATUS, llm=LlmSource.REMOTE, link=LinkState.DISCONNECTED, charging=False)
    assert _status(remote, 620).text() == "CAPTIONS Model online Not linked [battery]87%"


def test_status_bar_turns_to_icons_on_a_narrow_display() -> None:
    bar = replace(STATUS, mode=Mode.TRANSLATE, llm=LlmSource.REMOTE)
    line = _status(bar, 126)
    assert line.text() == "TRANS [cloud]AI [link] [battery][bolt]87"
    assert _width(line) <= 126
    offline = StatusBar(Mode.TRANSLATE, LinkState.DISCONNECTED, 5, offline=True)
    line = _status(offline, 126)
    assert _width(line) <= 126 and line.text() == "TRANS [unlinked] Offl [battery]5"
    assert _status(STATUS, 40).left == "CAPT"  # the mode stays even when indicators must go


def test_battery_icon_fills_with_the_charge() -> None:
    full, empty, low = (icon_art(Icon(IconKind.BATTERY, p)) for p in (100, 0, 3))
    assert full[3].count("#") > low[3].count("#") > empty[3].count("#")


def test_status_bar_alerts_are_the_last_indicators_dropped() -> None:
    bar = replace(STATUS, alerts=("NO MIC", "NO CAM"))
    assert _status(bar, 620).text().endswith("87% charging NO MIC NO CAM")
    line = _status(bar, 90)
    assert _width(line) <= 90
    assert line.text().endswith("M× C×")  # what went first: the LLM, the link, the battery


def test_status_bar_is_drawn_in_the_small_font() -> None:
    scene = LAYOUT.scene(Screen(TextView("body"), STATUS))
    status = [run for run in scene.runs if run.role is FontRole.SMALL]
    assert [run.text for run in status] == ["CAPTIONS", "Model local", "Linked", "87% charging"]
    assert (
        status[-1].x_px + small_measure(status[-1].text) == GEOMETRY.width_px - LAYOUT.margin_x_px
    )
    assert [mark.icon.kind for mark in scene.icons] == [IconKind.BATTERY]
    assert scene.icons[0].x_px + LAYOUT.icon_width(scene.icons[0].icon) < status[-1].x_px
    assert len(scene.rules) == 1  # the separator under the status bar
    body = [run for run in scene.runs if run.role is FontRole.BODY]
    assert body[0].baseline_px - 16 > scene.rules[0].y_px
