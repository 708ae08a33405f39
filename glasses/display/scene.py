"""Placing views on the display: a :class:`Scene` of text runs and rules in pixel positions.

Pure: font metrics come in as numbers and a ``measure`` callable, so this is testable without
fonts. ``raster`` turns a scene into pixel levels.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from firmware_bridge.protocol.geometry import DisplayGeometry
from glasses.display.charclass import normalise_text
from glasses.display.layout import Measure, fit_lines, wrap_lines
from glasses.display.statusline import (
    ICON_GAP_PX,
    Icon,
    StatusLine,
    icon_art,
    icon_scale,
    piece_width,
    status_line,
)
from glasses.display.views import CaptionView, PageView, Screen, StatusBar, TextView

# Room reserved on a page's last line for the widest indicator we expect.
_INDICATOR_SAMPLE: Final = "88/88"


class Ink(enum.Enum):
    TEXT = "text"  # final body text: brightest
    PARTIAL = "partial"  # captions still being recognised: dimmer, or underlined at 1 bpp
    STATUS = "status"
    DIM = "dim"  # page indicator, separator


class FontRole(enum.Enum):
    BODY = "body"
    SMALL = "small"  # status bar and page indicator


@dataclass(frozen=True)
class TextMetrics:
    measure: Measure
    ascent_px: int  # baseline offset from the top of a line
    line_height_px: int


@dataclass(frozen=True)
class TextRun:
    x_px: int
    baseline_px: int
    text: str
    ink: Ink
    role: FontRole = FontRole.BODY


@dataclass(frozen=True)
class Rule:
    """A horizontal line one pixel high; dotted ones light every other pixel."""

    x0_px: int
    x1_px: int
    y_px: int
    ink: Ink
    dotted: bool = False


@dataclass(frozen=True)
class IconMark:
    """A status icon: its pixel art (``icon_art``) drawn at ``scale``, top left at x, y."""

    x_px: int
    y_px: int
    icon: Icon
    scale: int
    ink: Ink = Ink.STATUS

    @property
    def rows(self) -> tuple[str, ...]:
        return icon_art(self.icon)


@dataclass(frozen=True)
class Scene:
    runs: tuple[TextRun, ...] = ()
    rules: tuple[Rule, ...] = ()
    icons: tuple[IconMark, ...] = ()
    status: StatusLine | None = None  # what the status bar says, icons by name

    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True)
class Box:
    x_px: int
    y_px: int
    width_px: int
    height_px: int


@dataclass(frozen=True)
class ScreenLayout:
    """Where the status bar and body go on one display, given the two fonts' metrics."""

    geometry: DisplayGeometry
    body: TextMetrics
    small: TextMetrics

    @property
    def margin_x_px(self) -> int:
        return max(1, self.geometry.width_px // 64)

    @property
    def margin_y_px(self) -> int:
        return max(1, self.geometry.height_px // 64)

    def status_height_px(self) -> int:
        # The separator line sits right under the status text, then some air before the body.
        return self.small.line_height_px + 1 + max(1, self.margin_y_px)

    def body_box(self, with_status: bool = True) -> Box:
        top = self.margin_y_px + (self.status_height_px() if with_status else 0)
        return Box(
            self.margin_x_px,
            top,
            self.geometry.width_px - 2 * self.margin_x_px,
            self.geometry.height_px - self.margin_y_px - top,
        )

    def body_lines(self, with_status: bool = True) -> int:
        return self._fits(self.body_box(with_status))

    def fits_line(self, text: str, with_status: bool = True) -> bool:
        """Whether ``text`` fits on one body line (a command must, or it is not shown)."""
        width_px = self.body_box(with_status).width_px
        return self.body.measure(normalise_text(text)) <= width_px

    def page_view(self, text: str, with_status: bool = True) -> PageView:
        """``text`` paginated to fit this display's body area."""
        box = self.body_box(with_status)
        reserve_px = self.small.measure(_INDICATOR_SAMPLE) + self.margin_x_px + 2
        return PageView.from_text(
            text,
            self.body.measure,
            box.width_px,
            self.body_lines(with_status),
            box.width_px - reserve_px,
        )

    def _baseline(self, box: Box, slot: int) -> int:
        return box.y_px + slot * self.body.line_height_px + self.body.ascent_px

    def icon_width(self, icon: Icon) -> int:
        return len(icon_art(icon)[0]) * icon_scale(self.small.ascent_px)

    def scene(self, screen: Screen) -> Scene:
        runs: list[TextRun] = []
        rules: list[Rule] = []
        icons: list[IconMark] = []
        status = None
        if screen.status is not None:
            status = self._status(screen.status, runs, rules, icons)
        box = self.body_box(screen.status is not None)
        body = screen.body
        if isinstance(body, CaptionView):
            self._captions(body, box, runs, rules)
        elif isinstance(body, PageView):
            self._page(body, box, runs)
        else:
            self._text(body, box, runs)
        return Scene(tuple(runs), tuple(rules), tuple(icons), status)

    def _status(
        self, bar: StatusBar, runs: list[TextRun], rules: list[Rule], icons: list[IconMark]
    ) -> StatusLine:
        x0, width = self.margin_x_px, self.geometry.width_px - 2 * self.margin_x_px
        measure = self.small.measure
        line = status_line(bar, measure, width, self.icon_width)
        baseline = self.margin_y_px + self.small.ascent_px
        runs.append(TextRun(x0, baseline, line.left, Ink.STATUS, FontRole.SMALL))
        scale = icon_scale(self.small.ascent_px)
        widths = [piece_width(piece, measure, self.icon_width) for piece in line.right]
        x = x0 + width - round(sum(widths) + line.gap_px * max(len(widths) - 1, 0))
        for piece, piece_px in zip(line.right, widths, strict=True):
            start = x
            for icon in piece.icons:  # icons stand on the baseline, as tall as capitals
                icons.append(IconMark(x, baseline - 7 * scale, icon, scale))
                x += self.icon_width(icon) + ICON_GAP_PX
            if piece.text:
                runs.append(TextRun(x, baseline, piece.text, Ink.STATUS, FontRole.SMALL))
            x = start + round(piece_px) + line.gap_px
        y = self.margin_y_px + self.small.line_height_px
        rules.append(Rule(x0, x0 + width, y, Ink.DIM, dotted=self.geometry.bpp == 1))
        return line

    def _text(self, view: TextView, box: Box, runs: list[TextRun]) -> None:
        lines = fit_lines(view.text, self.body.measure, box.width_px, self._fits(box))
        for slot, line in enumerate(lines):
            runs.append(TextRun(box.x_px, self._baseline(box, slot), line.text, Ink.TEXT))

    def _page(self, view: PageView, box: Box, runs: list[TextRun]) -> None:
        slots = self._fits(box)
        for slot, text in enumerate(view.lines[:slots]):
            runs.append(TextRun(box.x_px, self._baseline(box, slot), text, Ink.TEXT))
        if view.indicator:
            x = box.x_px + box.width_px - round(self.small.measure(view.indicator))
            baseline = self._baseline(box, slots - 1)
            runs.append(TextRun(x, baseline, view.indicator, Ink.DIM, FontRole.SMALL))

    def _captions(
        self, view: CaptionView, box: Box, runs: list[TextRun], rules: list[Rule]
    ) -> None:
        text, split = view.joined()
        slots = min(max(view.max_lines, 1), self._fits(box))
        lines = wrap_lines(text, self.body.measure, box.width_px)[-slots:] if text else []
        first_slot = self._fits(box) - len(lines)  # bottom-aligned: newest line lowest
        underline = self.geometry.bpp == 1
        for i, line in enumerate(lines):
            baseline = self._baseline(box, first_slot + i)
            cut = min(max(split, line.start), line.end)
            if cut > line.start:
                runs.append(TextRun(box.x_px, baseline, text[line.start : cut], Ink.TEXT))
            if cut < line.end:
                x = box.x_px + round(self.body.measure(text[line.start : cut]))
                partial = text[cut : line.end]
                runs.append(TextRun(x, baseline, partial, Ink.PARTIAL))
                if underline:  # 1 bpp has no grey: mark uncertain words with dots instead
                    y = min(baseline + 2, box.y_px + box.height_px - 1)
                    x1 = x + round(self.body.measure(partial))
                    rules.append(Rule(x, x1, y, Ink.PARTIAL, dotted=True))

    def _fits(self, box: Box) -> int:
        return max(1, box.height_px // self.body.line_height_px)
