"""Helpers of the tests of the modes as pure state machines: a fixed-width layout in place of
the font, and the effects of messages handled by a controller."""

from __future__ import annotations

from glasses.display.views import PageView
from glasses.modes.controller import Controller
from glasses.pipeline.messages import Message, ScreenUpdate

CHAR_PX = 10.0  # every character is this wide


class FakeLayout:
    """10 px per character, ``line_px`` lines, 3 lines a page; the characters in ``missing``
    are glyphs the font lacks (``clean`` drops them)."""

    def __init__(self, line_px: int = 200, missing: str = "") -> None:
        self.line_px, self.missing = line_px, missing

    def page_view(self, text: str) -> PageView:
        return PageView.from_text(text, lambda s: CHAR_PX * len(s), self.line_px, 3)

    def clean(self, text: str) -> str:
        for glyph in self.missing:
            text = text.replace(glyph, "")
        return text

    def fits_line(self, text: str) -> bool:
        return CHAR_PX * len(text) <= self.line_px


def effects(c: Controller, *msgs: Message) -> list[Message]:
    """What the controller asks for while handling ``msgs``, screen updates left out."""
    out: list[Message] = []
    for msg in msgs:
        out += [e for e in c.handle(msg) if not isinstance(e, ScreenUpdate)]
    return out
