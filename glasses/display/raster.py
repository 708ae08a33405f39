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

from glasses.display.fonts import FontFile, GlyphChecker, find_font, load_font
from glasses.display.geometry import DisplayGeometry
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
    """One font size: the Pillow font, its line metrics and a cached measure."""

    def __init__(self, font: ImageFont.FreeTypeFont) -> None:
        self.font = font
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
            width = self._widths[text] = self.font.getlength(text)
        return width


class Renderer:
    """Renders :class:`Screen` frames for one display geometry.

    ``font_path`` defaults to a CJK-capable system font (see :func:`find_font`);
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
        self._faces = {
            FontRole.BODY: _Face(load_font(self.font_file, body_px)),
            FontRole.SMALL: _Face(load_font(self.font_file, small_px)),
        }
        self._glyphs = GlyphChecker(self._faces[FontRole.BODY].font, self.font_file.path)
        self.layout = ScreenLayout(
            geometry, self._faces[FontRole.BODY].metrics, self._faces[FontRole.SMALL].metrics
        )

    @property
    def font_path(self) -> str:
        return self.font_file.path

    def missing_glyphs(self, text: str) -> list[str]:
        """Characters of ``text`` the font cannot draw (callers may strip or replace them)."""
        return self._glyphs.missing(text)

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
        self._glyphs.check(scene.text())
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
                font = self._faces[run.role].font
                draw.text((run.x_px, run.baseline_px), run.text, fill=fill, font=font, anchor="ls")
        for rule in scene.rules:
            fill = ink_level(rule.ink, bpp) * 255 // top
            step = 2 if rule.dotted else 1
            draw.point([(x, rule.y_px) for x in range(rule.x0_px, rule.x1_px, step)], fill=fill)
        pixels = np.asarray(image, dtype=np.uint16)
        # Antialiased edges fall between inks: round each pixel to the nearest level.
        levels: Levels = ((pixels * top + 127) // 255).astype(np.uint8)
        return levels
