"""What to show: immutable view descriptions. State changes return new views.

Nothing here knows about fonts or pixels; ``scene`` lays views out and ``raster`` draws them.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, replace
from typing import Final, TypeAlias

from glasses.display.charclass import is_wide, normalise_text
from glasses.display.layout import Measure, paginate

# Caption history kept for layout; far more than any display shows, small enough to re-wrap
# every frame. Dropping whole old segments can reflow the visible tail, but only rarely.
CAPTION_HISTORY_CHARS: Final = 1000


class Mode(str, enum.Enum):
    CAPTIONS = "CAPTIONS"
    TRANSLATE = "TRANSLATE"
    READ = "READ"
    ASSIST = "ASSIST"


class LinkState(str, enum.Enum):
    CONNECTED = "connected"
    CONNECTING = "connecting"
    DISCONNECTED = "disconnected"


class LlmSource(str, enum.Enum):
    NONE = "none"
    LOCAL = "local"
    REMOTE = "remote"


class PageButton(str, enum.Enum):
    """Paging intents; the app maps hardware buttons/swipes onto these."""

    NEXT = "next"
    PREVIOUS = "previous"


@dataclass(frozen=True)
class StatusBar:
    mode: Mode = Mode.CAPTIONS
    link: LinkState = LinkState.DISCONNECTED
    battery_percent: int | None = None  # None: unknown, not shown
    charging: bool = False
    offline: bool = False
    llm: LlmSource = LlmSource.NONE
    # Peripherals the glasses cannot work without right now ("NO MIC", "NO CAM"): shown so the
    # wearer knows why captions or reading stopped, even when the body has no room for a notice.
    alerts: tuple[str, ...] = ()


def _joiner(left: str, right: str) -> str:
    # CJK is written without spaces and full-width punctuation carries its own spacing; a
    # Latin word next to CJK gets a space, as in "去 Hangzhou 火车站".
    if not left or not right or left.endswith("\n") or right.startswith("\n"):
        return ""
    a, b = left[-1], right[0]
    if is_wide(a) and is_wide(b):
        return ""
    if (is_wide(a) and unicodedata.category(a).startswith("P")) or (
        is_wide(b) and unicodedata.category(b).startswith("P")
    ):
        return ""
    return " "


@dataclass(frozen=True)
class CaptionView:
    """Live captions: ``final`` segments plus the ``partial`` one still being recognised.

    Shown as the last ``max_lines`` wrapped lines, newest at the bottom.
    """

    final: tuple[str, ...] = ()
    partial: str = ""
    max_lines: int = 3
    settled: int = 0
    """How many characters of ``partial`` the recogniser has settled: drawn like final text,
    so only the tentative rest changes (and moves pixels) as it is revised."""

    def with_partial(self, text: str, stable: str = "") -> CaptionView:
        """Replace the partial hypothesis (recognisers revise it as they hear more);
        ``stable`` is its settled prefix, if the recogniser says one."""
        text, stable = normalise_text(text), normalise_text(stable)
        settled = len(stable) if stable and text.startswith(stable) else 0
        return replace(self, partial=text, settled=settled)

    def with_final(self, text: str) -> CaptionView:
        """Commit a finished segment; it replaces the partial one."""
        text = normalise_text(text)
        if not text:
            return replace(self, partial="", settled=0)
        kept = [*self.final, text]
        total = sum(len(s) for s in kept)
        while len(kept) > 1 and total > CAPTION_HISTORY_CHARS:
            total -= len(kept.pop(0))
        return CaptionView(tuple(kept), "", self.max_lines)

    def cleared(self) -> CaptionView:
        return CaptionView(max_lines=self.max_lines)

    def joined(self) -> tuple[str, int]:
        """The normalised caption text and the offset where its tentative part starts (the
        partial's unsettled rest)."""
        text = ""
        for segment in self.final:
            text += _joiner(text, segment) + segment
        if not self.partial:
            return text, len(text)
        text += _joiner(text, self.partial)
        return text + self.partial, len(text) + self.settled


@dataclass(frozen=True)
class TextView:
    """Plain wrapped text, cut with ``…`` when it does not fit."""

    text: str


@dataclass(frozen=True)
class PageView:
    """A long answer split into pages of wrapped lines; ``page_index`` is the one shown."""

    pages: tuple[tuple[str, ...], ...]
    page_index: int = 0

    def __post_init__(self) -> None:
        if not self.pages:
            object.__setattr__(self, "pages", ((),))
        if not 0 <= self.page_index < len(self.pages):
            raise ValueError(f"page {self.page_index} is outside 0..{len(self.pages) - 1}")

    @classmethod
    def from_text(
        cls,
        text: str,
        measure: Measure,
        width_px: float,
        lines_per_page: int,
        last_line_width_px: float | None = None,
    ) -> PageView:
        """Paginate ``text``; ``last_line_width_px`` leaves room for the page indicator."""
        pages = paginate(text, measure, width_px, lines_per_page, last_line_width_px)
        return cls(tuple(tuple(line.text for line in page) for page in pages))

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def lines(self) -> tuple[str, ...]:
        return self.pages[self.page_index]

    @property
    def indicator(self) -> str:
        """``"2/5"``-style position, empty for a single page."""
        return f"{self.page_index + 1}/{self.page_count}" if self.page_count > 1 else ""

    def next_page(self) -> PageView:
        return replace(self, page_index=min(self.page_index + 1, self.page_count - 1))

    def previous_page(self) -> PageView:
        return replace(self, page_index=max(self.page_index - 1, 0))

    def on_button(self, button: PageButton) -> PageView:
        return self.next_page() if button is PageButton.NEXT else self.previous_page()


BodyView: TypeAlias = CaptionView | PageView | TextView


@dataclass(frozen=True)
class Screen:
    """One frame: an optional status bar on top of a body view."""

    body: BodyView
    status: StatusBar | None = None
