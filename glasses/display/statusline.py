"""The status bar's content: the most detailed variant that fits the display's width.

What a wearer needs at a glance, in words on wide displays and in pixel icons where words do
not fit: the mode, whether the glasses are linked to their computer, whether the assistant's
model runs on the glasses' computer ("Model local") or online, and the battery. The bare
"LINK" / "REM" abbreviations of earlier versions said nothing to anyone but their author.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from glasses.display.layout import Measure
from glasses.display.views import LinkState, LlmSource, Mode, StatusBar


class IconKind(enum.Enum):
    BATTERY = "battery"  # outline filled to the charge
    BOLT = "bolt"  # charging
    LINK = "link"  # two joined chain links: linked to the computer
    UNLINKED = "unlinked"  # the chain broken
    CLOUD = "cloud"  # the model runs online


@dataclass(frozen=True)
class Icon:
    kind: IconKind
    percent: int = 0  # BATTERY: how full


@dataclass(frozen=True)
class Piece:
    """One indicator as shown: icons, then text."""

    text: str = ""
    icons: tuple[Icon, ...] = ()


# Long, short and tiny forms of each indicator; every level of detail is tried in turn.
Forms = tuple[Piece, Piece, Piece]


def _words(long: str, short: str, tiny: str) -> Forms:
    return Piece(long), Piece(short), Piece(tiny)


_MODE: Final[dict[Mode, tuple[str, str, str]]] = {
    Mode.CAPTIONS: ("CAPTIONS", "CAPTIONS", "CAPT"),
    Mode.TRANSLATE: ("TRANSLATE", "TRANSLATE", "TRANS"),
    Mode.READ: ("READ", "READ", "READ"),
    Mode.ASSIST: ("ASSIST", "ASSIST", "ASST"),
}
_LINK_UP, _LINK_DOWN = Icon(IconKind.LINK), Icon(IconKind.UNLINKED)
_LINK: Final[dict[LinkState, Forms]] = {
    LinkState.CONNECTED: (Piece("Linked"), Piece("", (_LINK_UP,)), Piece("", (_LINK_UP,))),
    LinkState.CONNECTING: (
        Piece("Linking…"),
        Piece("…", (_LINK_DOWN,)),
        Piece("…", (_LINK_DOWN,)),
    ),
    LinkState.DISCONNECTED: (
        Piece("Not linked"),
        Piece("", (_LINK_DOWN,)),
        Piece("", (_LINK_DOWN,)),
    ),
}
_CLOUD: Final = Icon(IconKind.CLOUD)
_LLM: Final[dict[LlmSource, Forms]] = {
    # "AI" alone only in the bitmap font, whose I has serifs: in a sans font it reads "Al".
    LlmSource.LOCAL: _words("Model local", "Model local", "AI"),
    LlmSource.REMOTE: (Piece("Model online"), Piece("Model online"), Piece("AI", (_CLOUD,))),
}
_OFFLINE: Final = _words("No internet", "Offline", "Offl")
# Known alerts in their three forms; any other alert is shown as it is at every level.
_ALERTS: Final[dict[str, Forms]] = {
    "NO MIC": _words("NO MIC", "NO MIC", "M×"),
    "NO CAM": _words("NO CAM", "NO CAM", "C×"),
}
_GAPS_PX: Final = (12, 6, 3)
_MIN_GAP_PX: Final = 4
ICON_GAP_PX: Final = 1  # between an icon and what follows it


def _battery(bar: StatusBar) -> Forms | None:
    if bar.battery_percent is None:
        return None
    pct = max(0, min(100, bar.battery_percent))
    icon = Icon(IconKind.BATTERY, pct)
    charging = (Icon(IconKind.BOLT),) if bar.charging else ()
    long = Piece(f"{pct}% charging" if bar.charging else f"{pct}%", (icon,))
    return long, Piece(f"{pct}%", (icon, *charging)), Piece(f"{pct}", (icon, *charging))


def indicators(bar: StatusBar) -> list[Forms]:
    """Right-hand indicators, least important first (dropped first when nothing else fits)."""
    items: list[Forms] = []
    if bar.llm in _LLM:
        items.append(_LLM[bar.llm])
    items.append(_LINK[bar.link])
    if bar.offline:
        items.append(_OFFLINE)
    battery = _battery(bar)
    if battery is not None:
        items.append(battery)
    # Alerts come last, so they are the last to be dropped: a missing microphone or camera
    # explains a blank screen, the battery does not.
    items += [_ALERTS.get(alert, _words(alert, alert, alert)) for alert in bar.alerts]
    return items


@dataclass(frozen=True)
class StatusLine:
    """The mode on the left; ``right`` indicators right-aligned, ``gap_px`` apart."""

    left: str
    right: tuple[Piece, ...]
    gap_px: int

    def text(self) -> str:
        """The words shown, as a reader would say them (icons by name in brackets)."""
        parts = [
            "".join(f"[{icon.kind.value}]" for icon in piece.icons) + piece.text
            for piece in self.right
        ]
        return " ".join([self.left, *parts])


IconWidth = Callable[[Icon], int]


def piece_width(piece: Piece, measure: Measure, icon_width: IconWidth) -> float:
    icons = sum(icon_width(icon) + ICON_GAP_PX for icon in piece.icons)
    return icons + (measure(piece.text) if piece.text else -ICON_GAP_PX if icons else 0)


def status_line(
    bar: StatusBar, measure: Measure, width_px: float, icon_width: IconWidth
) -> StatusLine:
    """The most detailed status line that fits ``width_px``."""
    items = indicators(bar)
    mode = _MODE[bar.mode]

    def width(pieces: list[Piece], gap: int) -> float:
        return sum(piece_width(p, measure, icon_width) for p in pieces) + gap * max(
            len(pieces) - 1, 0
        )

    def fits(left: str, pieces: list[Piece], gap: int) -> bool:
        return measure(left) + _MIN_GAP_PX + width(pieces, gap) <= width_px

    for level in range(3):
        pieces = [item[level] for item in items]
        if fits(mode[level], pieces, _GAPS_PX[level]):
            return StatusLine(mode[level], tuple(pieces), _GAPS_PX[level])
    while items:  # still too wide: drop the least important indicators
        items.pop(0)
        pieces = [item[2] for item in items]
        if fits(mode[2], pieces, _GAPS_PX[2]):
            return StatusLine(mode[2], tuple(pieces), _GAPS_PX[2])
    return StatusLine(mode[2], (), _GAPS_PX[2])


# Pixel art, seven pixels high (the height of a capital letter at 9 to 12 px), drawn at an
# integer scale on bigger text; "#" is lit.
_ART: Final[dict[IconKind, tuple[str, ...]]] = {
    IconKind.BOLT: (
        "...#",
        "..#.",
        ".##.",
        "####",
        ".##.",
        ".#..",
        "#...",
    ),
    IconKind.LINK: (
        ".###.....",
        "#...#....",
        "#..#####.",
        "#...#...#",
        ".#####..#",
        "....#...#",
        ".....###.",
    ),
    IconKind.UNLINKED: (
        ".###.....",
        "#...#....",
        "#...#....",
        "#...#.#.#",
        ".###..#.#",
        "......#..",
        "......###",
    ),
    IconKind.CLOUD: (
        ".........",
        "...###...",
        "..#...##.",
        ".#......#",
        "#.......#",
        "#.......#",
        ".#######.",
    ),
}
_BATTERY_FILL: Final = 6  # inner columns that light up, one per ~17 %


def icon_art(icon: Icon) -> tuple[str, ...]:
    """The icon's pixel rows ("#" lit), before scaling."""
    if icon.kind is not IconKind.BATTERY:
        return _ART[icon.kind]
    lit = round(_BATTERY_FILL * max(0, min(100, icon.percent)) / 100)
    if icon.percent > 0:
        lit = max(lit, 1)  # almost empty is not empty
    inner = "#" * lit + "." * (_BATTERY_FILL - lit)
    return (
        "##########.",
        "#........#.",
        f"#.{inner}.##",
        f"#.{inner}.##",
        f"#.{inner}.##",
        "#........#.",
        "##########.",
    )


def icon_scale(ascent_px: int) -> int:
    """Scale for icons beside text with this ascent: one pixel per pixel up to 13 px text."""
    return max(1, ascent_px // 9)
