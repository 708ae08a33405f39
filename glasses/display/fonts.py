"""Finding a font that covers CJK, loading it, and refusing to draw characters it lacks."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from PIL import ImageFont

from glasses.display.charclass import visible_chars
from glasses.errors import GlassesError

log = logging.getLogger(__name__)

INSTALL_HINT: Final = "sudo apt install fonts-noto-cjk"
FONTCONFIG_PATTERN: Final = "sans-serif:lang=zh-cn"
# Where Debian / Raspberry Pi OS packages put CJK fonts, for machines without fc-match.
WELL_KNOWN_FONTS: Final = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
# Outline fonts thresholded to 1 bit at small sizes lose strokes (今 reads as 令), so 1-bit
# panels draw small text with a font drawn pixel by pixel for those sizes: WenQuanYi Bitmap
# Song from Debian's xfonts-wqy (PCF files FreeType loads at their native pixel size).
BITMAP_PACKAGE: Final = "xfonts-wqy"
BITMAP_INSTALL_HINT: Final = f"sudo apt install {BITMAP_PACKAGE}"
BITMAP_DIR: Final = "/usr/share/fonts/X11/misc"
BITMAP_STRIKES: Final = {  # pixel size -> file
    12: "wenquanyi_9pt.pcf",
    13: "wenquanyi_10pt.pcf",
    14: "wenquanyi_13px.pcf",
    15: "wenquanyi_11pt.pcf",
    16: "wenquanyi_12pt.pcf",
}
# Above this size an outline font hinted for 1 bit is legible, and larger than any strike.
BITMAP_MAX_PX: Final = 17
_CJK_PROBE: Final = "中文字"
# Private-use code point on plane 16, mapped by no ordinary font: renders as .notdef.
_UNMAPPED: Final = "\U0010fffd"
_PREFERRED_FACE_SUFFIX: Final = " SC"  # Simplified Chinese forms in Noto's collection


class FontNotFoundError(GlassesError):
    """No usable font: the message says which package to install."""


class MissingGlyphsError(GlassesError):
    """Text has characters the font cannot draw (we never draw tofu boxes instead)."""

    def __init__(self, characters: Iterable[str], font_path: str) -> None:
        self.characters = tuple(sorted(set(characters)))
        self.font_path = font_path
        listed = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in self.characters)
        super().__init__(
            f"the font {font_path} has no glyphs for {len(self.characters)} character(s): "
            f"{listed}; configure a font that covers them (for CJK: {INSTALL_HINT})"
        )


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0  # face inside a .ttc collection
    native_px: int | None = None  # a bitmap font: the only pixel size it has


def bitmap_strike(size_px: int, folder: str = BITMAP_DIR) -> FontFile | None:
    """The WenQuanYi bitmap face nearest to ``size_px`` (the largest not above it, else the
    smallest), or None when xfonts-wqy is not installed."""
    sizes = sorted(BITMAP_STRIKES)
    fitting = [s for s in sizes if s <= size_px]
    for size in [*reversed(fitting), *(s for s in sizes if s > size_px)]:
        path = os.path.join(folder, BITMAP_STRIKES[size])
        if os.path.isfile(path):
            return FontFile(path, 0, size)
    return None


@lru_cache(maxsize=16)
def small_size_font(size_px: int, fallback: FontFile, folder: str = BITMAP_DIR) -> FontFile:
    """The font for ``size_px`` text on a 1-bit panel: the bitmap font up to
    :data:`BITMAP_MAX_PX`, else ``fallback``; warns (once per size) when it is missing."""
    if size_px > BITMAP_MAX_PX:
        return fallback
    strike = bitmap_strike(size_px, folder)
    if strike is None:
        log.warning(
            "no bitmap CJK font in %s: small text on 1-bit displays is drawn with %s, which "
            "loses strokes at %d px (今 looks like 令); install it with: %s",
            folder,
            fallback.path,
            size_px,
            BITMAP_INSTALL_HINT,
        )
        return fallback
    return strike


def load_font(font: FontFile, size_px: int) -> ImageFont.FreeTypeFont:
    """Load a face; BASIC layout is enough for CJK + Latin, fast, and the same on every machine.
    A bitmap font is loaded at its own size, whatever ``size_px`` asks."""
    try:
        return ImageFont.truetype(
            font.path,
            font.native_px or size_px,
            index=font.index,
            layout_engine=ImageFont.Layout.BASIC,
        )
    except OSError as exc:
        raise FontNotFoundError(
            f"cannot load the font {font.path} (face {font.index}): {exc}; "
            f"install a CJK font with: {INSTALL_HINT}"
        ) from exc


class GlyphChecker:
    """Tells which characters a face lacks, by comparing them with its ``.notdef`` rendering.

    Pillow exposes no character map, but an unmapped character renders exactly like the
    ``.notdef`` glyph. Results are cached per character, so steady-state checks are set lookups.
    """

    def __init__(self, font: ImageFont.FreeTypeFont, font_path: str) -> None:
        self._font = font
        self._font_path = font_path
        self._notdef = self._signature(_UNMAPPED)
        self._known: dict[str, bool] = {}

    def _signature(self, char: str) -> tuple[object, ...]:
        mask = self._font.getmask(char)
        return (mask.size, bytes(mask), self._font.getbbox(char), self._font.getlength(char))

    def has_glyph(self, char: str) -> bool:
        known = self._known.get(char)
        if known is None:
            known = self._known[char] = self._signature(char) != self._notdef
        return known

    def missing(self, text: str) -> list[str]:
        """Visible characters of ``text`` without a glyph, sorted."""
        return sorted(ch for ch in visible_chars(text) if not self.has_glyph(ch))

    def check(self, text: str) -> None:
        """Raise :class:`MissingGlyphsError` if any visible character lacks a glyph."""
        missing = self.missing(text)
        if missing:
            raise MissingGlyphsError(missing, self._font_path)


def _covers_cjk(font: FontFile) -> bool:
    try:
        face = load_font(font, 16)
    except FontNotFoundError:
        return False
    return not GlyphChecker(face, font.path).missing(_CJK_PROBE)


@lru_cache(maxsize=8)
def _preferred_index(path: str) -> int:
    """In a collection, the Simplified Chinese face if there is one, else the first face."""
    for index in range(16):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(_PREFERRED_FACE_SUFFIX):
            return index
    return 0


def _fontconfig_match(pattern: str = FONTCONFIG_PATTERN) -> FontFile | None:
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}|%{index}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("fc-match failed: %s", exc)
        return None
    path, _, index = out.strip().partition("|")
    if not path:
        return None
    return FontFile(path, int(index) if index.isdigit() else 0)


def find_font(configured_path: str | None = None, index: int | None = None) -> FontFile:
    """The font to draw with: ``configured_path`` if given, else a CJK font from fontconfig,
    else one at a well-known Debian path. Raises :class:`FontNotFoundError` naming the package.
    """
    if configured_path is not None:
        if not os.path.isfile(configured_path):
            raise FontNotFoundError(
                f"the configured font {configured_path} does not exist; "
                f"point it at an installed font, or install one with: {INSTALL_HINT}"
            )
        if index is None:
            index = _preferred_index(configured_path)
        return FontFile(configured_path, index)
    matched = _fontconfig_match()
    # fontconfig always answers with *some* font, so make sure this one really has CJK.
    if matched is not None and _covers_cjk(matched):
        return matched
    for path in WELL_KNOWN_FONTS:
        if os.path.isfile(path):
            font = FontFile(path, _preferred_index(path))
            if _covers_cjk(font):
                return font
    raise FontNotFoundError(
        "no font covering Chinese/Japanese/Korean was found (asked fontconfig for "
        f"{FONTCONFIG_PATTERN!r}, then looked in {', '.join(WELL_KNOWN_FONTS[:2])}, ...); "
        f"install one with: {INSTALL_HINT}"
    )
