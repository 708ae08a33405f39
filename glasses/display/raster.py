"""Drawing screens into pixel levels with Pillow.

A :class:`Renderer` loads its fonts once per display; ``render`` returns a (height, width)
uint8 array of levels 0..2**bpp-1, bright text on a dark background.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from firmware_bridge.protocol.geometry import DisplayGeometry
from glasses.display.fonts import (
    FontFile,
    GlyphChecker,
    find_font,
    load_font,
    small_size_font,
)
from glasses.display.scene import FontRole, Ink, Scene, ScreenLayout, TextMetrics
from glasses.display.views import PageView, Screen, TextView

Levels = npt.NDArray[np.uint8]

# Samples for line metrics: the tallest common glyphs above and below the baseline.
_ASCENT_SAMPLE: Final = "国Ahdl|"
_DESCENT_SAMPLE: Final = "国gjpqy|"
# Brightness of each ink as a fraction of full scale (1 bpp: anything > 0 is on).
_INK_SHARE: Final = {Ink.TEXT: 1.0, Ink.STATUS: 0.85, Ink.PARTIAL: 0.55, Ink.DIM: 0.45}
_MEASURE_CACHE_LIMIT: Final = 20_000


def default_font_sizes(geometry: DisplayGeometry) -> tuple[int, int]:
    """``(body_px, small_px)`` readable on the display: about six body lines, 12..32 px."""
    body = max(12, min(32, geometry.height_px // 6))
    return body, max(10, round(body * 0.7))


def ink_level(ink: Ink, bpp: int) -> int:
    """The pixel level an ink is drawn with (never 0, which would be invisible)."""
    top = (1 << bpp) - 1
    return max(1, round(top * _INK_SHARE[ink]))


def levels_to_image(levels: Levels, bpp: int) -> Image.Image:
    """Levels as an 8-bit greyscale image (0..255), e.g. to save a PNG."""
    top = (1 << bpp) - 1
    scaled = (levels.astype(np.uint16) * 255 + top // 2) // top
    return Image.fromarray(scaled.astype(np.uint8))


class _Face:
    """One font size: the Pillow font, its line metrics and a cached measure.

    ``fallback`` draws the characters ``font`` lacks (hangul is not in the bitmap font)."""

    def __init__(
        self, font: ImageFont.FreeTypeFont, fallback: ImageFont.FreeTypeFont | None = None
    ) -> None:
        self.font = font
        self.fallback = fallback
        self._covers = GlyphChecker(font, "") if fallback is not None else None
        self._widths: dict[str, float] = {}
        top = font.getbbox(_ASCENT_SAMPLE, anchor="ls")[1]
        bottom = font.getbbox(_DESCENT_SAMPLE, anchor="ls")[3]
        ascent, descent = math.ceil(-top), math.ceil(bottom)
        gap = max(1, round(font.size / 10))
        self.metrics = TextMetrics(self.measure, ascent, ascent + descent + gap)

    def measure(self, text: str) -> float:
        width = self._widths.get(text)
        if width is None:
            if len(self._widths) >= _MEASURE_CACHE_LIMIT:
                self._widths.clear()
            width = self._widths[text] = sum(
                font.getlength(part) for part, font in self.segments(text)
            )
        return width

    def segments(self, text: str) -> list[tuple[str, ImageFont.FreeTypeFont]]:
        """``text`` cut into runs drawn with one font each."""
        covers, fallback = self._covers, self.fallback
        if covers is None or fallback is None:
            return [(text, self.font)]
        out: list[tuple[str, ImageFont.FreeTypeFont]] = []
        for ch in text:
            font = self.font if ch.isspace() or covers.has_glyph(ch) else fallback
            if out and out[-1][1] is font:
                out[-1] = (out[-1][0] + ch, font)
            else:
                out.append((ch, font))
        return out


class Renderer:
    """Renders :class:`Screen` frames for one display geometry.

    ``font_path`` defaults to a CJK-capable system font (see :func:`find_font`), and on 1-bit
    panels to the bitmap font for sizes up to 17 px (see :func:`small_size_font`);
    ``font_size_px`` sets the body text size (the status bar uses a smaller one).
    """

    def __init__(
        self,
        geometry: DisplayGeometry,
        font_path: str | None = None,
        font_size_px: int | None = None,
        *,
        font_index: int | None = None,
    ) -> None:
        self.geometry = geometry
        self.font_file: FontFile = find_font(font_path, font_index)
        body_px, small_px = default_font_sizes(geometry)
        if font_size_px is not None:
            body_px, small_px = font_size_px, max(8, min(small_px, font_size_px))
        files = {FontRole.BODY: self.font_file, FontRole.SMALL: self.font_file}
        sizes = {FontRole.BODY: body_px, FontRole.SMALL: small_px}
        if geometry.bpp == 1 and font_path is None:
            files = {role: small_size_font(sizes[role], self.font_file) for role in files}
        self.font_files = files
        self._faces = {
            role: _Face(
                load_font(files[role], sizes[role]),
                None if files[role] == self.font_file else load_font(self.font_file, sizes[role]),
            )
            for role in files
        }
        # The outline font covers what the bitmap font lacks: it decides what can be drawn.
        outline = load_font(self.font_file, body_px)
        self._checkers = [GlyphChecker(outline, self.font_file.path)]
        self.layout = ScreenLayout(
            geometry, self._faces[FontRole.BODY].metrics, self._faces[FontRole.SMALL].metrics
        )

    @property
    def font_path(self) -> str:
        return self.font_file.path

    def missing_glyphs(self, text: str) -> list[str]:
        """Characters of ``text`` the font cannot draw (callers may strip or replace them)."""
        return sorted({ch for checker in self._checkers for ch in checker.missing(text)})

    def page_view(self, text: str, with_status: bool = True) -> PageView:
        """``text`` paginated for this display's body area."""
        return self.layout.page_view(text, with_status)

    def render_text(self, text: str) -> Levels:
        """Wrapped ``text`` over the whole display (no status bar), cut with ``…``."""
        return self.render(Screen(TextView(text)))

    def render(self, screen: Screen) -> Levels:
        """Draw ``screen``; raises ``MissingGlyphsError`` rather than drawing tofu boxes."""
        return self.draw(self.layout.scene(screen))

    def draw(self, scene: Scene) -> Levels:
        for checker in self._checkers:
            checker.check(scene.text())
        geometry = self.geometry
        bpp, top = geometry.bpp, geometry.max_level
        image = Image.new("L", (geometry.width_px, geometry.height_px), 0)
        draw = ImageDraw.Draw(image)
        # At 1 bpp FreeType's hinted monochrome rasteriser gives clean strokes; thresholding
        # antialiased text would leave broken strokes and speckle.
        draw.fontmode = "1" if bpp == 1 else "L"
        for run in scene.runs:
            if run.text:
                fill = ink_level(run.ink, bpp) * 255 // top
                face, x = self._faces[run.role], float(run.x_px)
                for part, font in face.segments(run.text):
                    draw.text((x, run.baseline_px), part, fill=fill, font=font, anchor="ls")
                    x += font.getlength(part)
        for mark in scene.icons:
            fill = ink_level(mark.ink, bpp) * 255 // top
            k = mark.scale
            for dy, row in enumerate(mark.rows):
                for dx, pixel in enumerate(row):
                    if pixel == "#":
                        x, y = mark.x_px + dx * k, mark.y_px + dy * k
                        draw.rectangle((x, y, x + k - 1, y + k - 1), fill=fill)
        for rule in scene.rules:
            fill = ink_level(rule.ink, bpp) * 255 // top
            step = 2 if rule.dotted else 1
            draw.point([(x, rule.y_px) for x in range(rule.x0_px, rule.x1_px, step)], fill=fill)
        pixels = np.asarray(image, dtype=np.uint16)
        # Antialiased edges fall between inks: round each pixel to the nearest level.
        levels: Levels = ((pixels * top + 127) // 255).astype(np.uint8)
        return levels
