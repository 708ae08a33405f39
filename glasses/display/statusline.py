"""The status bar's wording: the most detailed variant that fits the display's width."""

from __future__ import annotations

from typing import Final

from glasses.display.layout import Measure
from glasses.display.views import LinkState, LlmSource, Mode, StatusBar

# Each label in long, short and tiny form; all levels of detail are tried in turn.
_MODE: Final[dict[Mode, tuple[str, str, str]]] = {
    Mode.CAPTIONS: ("CAPTIONS", "CAPT", "CC"),
    Mode.TRANSLATE: ("TRANSLATE", "TRANS", "TR"),
    Mode.READ: ("READ", "READ", "RD"),
    Mode.ASSIST: ("ASSIST", "ASST", "AI"),
}
_LINK: Final[dict[LinkState, tuple[str, str, str]]] = {
    LinkState.CONNECTED: ("LINK", "LNK", "L"),
    LinkState.CONNECTING: ("LINK…", "LNK…", "L…"),
    LinkState.DISCONNECTED: ("NO LINK", "NO LNK", "L×"),
}
_LLM: Final[dict[LlmSource, tuple[str, str, str]]] = {
    LlmSource.LOCAL: ("LLM local", "LOCAL", "LOC"),
    LlmSource.REMOTE: ("LLM remote", "REMOTE", "REM"),
}
_OFFLINE: Final = ("OFFLINE", "OFFL", "OFF")
# Known alerts in their three forms; any other alert is shown as it is at every level.
_ALERTS: Final[dict[str, tuple[str, str, str]]] = {
    "NO MIC": ("NO MIC", "NO MIC", "M×"),
    "NO CAM": ("NO CAM", "NO CAM", "C×"),
}
_GAPS: Final = ("  ", " ", " ")
_MIN_GAP_PX: Final = 4


def _battery(bar: StatusBar) -> tuple[str, str, str] | None:
    if bar.battery_percent is None:
        return None
    pct = max(0, min(100, bar.battery_percent))
    if bar.charging:
        return (f"{pct}% CHG", f"{pct}%+", f"{pct}+")
    return (f"{pct}%", f"{pct}%", f"{pct}")


def _indicators(bar: StatusBar) -> list[tuple[str, str, str]]:
    """Right-hand labels, least important first (dropped first when nothing else fits)."""
    items: list[tuple[str, str, str]] = []
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
    items += [_ALERTS.get(alert, (alert, alert, alert)) for alert in bar.alerts]
    return items


def status_texts(bar: StatusBar, measure: Measure, width_px: float) -> tuple[str, str]:
    """``(left, right)`` texts: the mode, and the indicators to right-align."""
    items = _indicators(bar)
    mode = _MODE[bar.mode]

    def fits(left: str, right: str) -> bool:
        return measure(left) + _MIN_GAP_PX + measure(right) <= width_px

    for level in range(3):
        right = _GAPS[level].join(item[level] for item in items)
        if fits(mode[level], right):
            return mode[level], right
    while items:  # still too wide: drop the least important indicators
        items.pop(0)
        right = " ".join(item[2] for item in items)
        if fits(mode[2], right):
            return mode[2], right
    return mode[2], ""
