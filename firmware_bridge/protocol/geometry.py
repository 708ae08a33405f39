"""The pixel grid of a display: size and bits per pixel, as HELLO_ACK reports it.

Part of the protocol: the host renders for it, the compositor packs for it and the simulator
pretends to be one of :data:`PROFILES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from firmware_bridge.protocol.pixels import SUPPORTED_BPP


@dataclass(frozen=True)
class DisplayGeometry:
    """``width_px`` x ``height_px`` pixels, each a level 0..``max_level`` (0 = off/dark)."""

    width_px: int
    height_px: int
    bpp: int

    def __post_init__(self) -> None:
        if self.bpp not in SUPPORTED_BPP:
            raise ValueError(f"bits per pixel must be one of {SUPPORTED_BPP}, got {self.bpp}")
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(f"display size must be positive, got {self.width_px}x{self.height_px}")

    @property
    def max_level(self) -> int:
        return (1 << self.bpp) - 1

    @property
    def name(self) -> str:
        return f"{self.width_px}x{self.height_px}x{self.bpp}"

    @classmethod
    def parse(cls, spec: str) -> DisplayGeometry:
        """Parse ``WIDTHxHEIGHTxBPP``, e.g. ``640x400x4``, or a profile name."""
        if spec in PROFILES:
            return PROFILES[spec]
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*[xX@]\s*(\d+)\s*", spec)
        if match is None:
            raise ValueError(f"expected WIDTHxHEIGHTxBPP such as 640x400x4, got {spec!r}")
        width, height, bpp = (int(g) for g in match.groups())
        return cls(width, height, bpp)


# The display modules we build for (hw_sim.profiles pairs each with a simulated MCU).
PROFILES: Final[dict[str, DisplayGeometry]] = {
    "640x400x4": DisplayGeometry(640, 400, 4),  # micro-OLED / LCoS module, 16 grey levels
    "576x136x1": DisplayGeometry(576, 136, 1),  # wide monochrome strip
    "128x64x1": DisplayGeometry(128, 64, 1),  # SSD1306-class OLED
}
