"""Display profiles: the panels and MCUs the simulator can pretend to be.

A profile fixes everything the device reports in HELLO_ACK, so a host developed against the
simulator sees the same geometry and limits as on the real board.  The panels themselves are
:data:`firmware_bridge.protocol.geometry.PROFILES`; a profile adds its MCU's limits and identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from firmware_bridge.protocol.arq import MAX_WINDOW
from firmware_bridge.protocol.frame import MAX_PAYLOAD_LIMIT, MIN_PAYLOAD
from firmware_bridge.protocol.geometry import PROFILES as PANELS
from firmware_bridge.protocol.geometry import DisplayGeometry
from firmware_bridge.protocol.messages import MAX_BOARD_ID_LEN
from firmware_bridge.protocol.pixels import pixels_per_byte


@dataclass(frozen=True)
class Profile:
    """One simulated display board."""

    geometry: DisplayGeometry
    """The panel; its width a multiple of the pixels per byte at its bits per pixel."""
    max_payload: int
    """Largest frame payload the device accepts: the size of its receive buffer."""
    window: int
    """Sequenced frames the device can buffer unacknowledged (its receive slots)."""
    board_id: str
    """ASCII board name reported in HELLO_ACK (at most 32 bytes)."""
    fw_version: tuple[int, int, int]
    """Firmware version (major, minor, patch) reported in HELLO_ACK."""
    min_version: int = 1
    """Oldest protocol version the firmware speaks."""
    max_version: int = 1
    """Newest protocol version the firmware speaks."""

    def __post_init__(self) -> None:
        if self.width_px % pixels_per_byte(self.bpp):
            raise ValueError(f"bad panel size {self.width_px}x{self.height_px} at {self.bpp} bpp")
        if not MIN_PAYLOAD <= self.max_payload <= MAX_PAYLOAD_LIMIT:
            raise ValueError(f"max_payload must be in {MIN_PAYLOAD}..{MAX_PAYLOAD_LIMIT}")
        if not 1 <= self.window <= MAX_WINDOW:
            raise ValueError(f"window must be in 1..{MAX_WINDOW}")
        if len(self.board_id.encode("ascii")) > MAX_BOARD_ID_LEN:
            raise ValueError(f"board_id longer than {MAX_BOARD_ID_LEN} bytes")
        if not 1 <= self.min_version <= self.max_version <= 255:
            raise ValueError("need 1 <= min_version <= max_version <= 255")

    @property
    def name(self) -> str:
        """Name used on the command line, ``<width>x<height>x<bpp>``."""
        return self.geometry.name

    @property
    def width_px(self) -> int:
        return self.geometry.width_px

    @property
    def height_px(self) -> int:
        return self.geometry.height_px

    @property
    def bpp(self) -> int:
        """Bits per pixel: 1, 2 or 4 (levels 0..2**bpp-1)."""
        return self.geometry.bpp

    @property
    def max_level(self) -> int:
        return self.geometry.max_level


PROFILES: Final[dict[str, Profile]] = {
    p.name: p
    for p in (
        # The prototype's 4-bit greyscale micro-OLED behind a Cortex-M7 with plenty of RAM.
        Profile(PANELS["640x400x4"], 4096, 8, "glasses-proto-640", (0, 3, 0)),
        # A wide monochrome strip display on a small MCU: 1 KiB receive buffer.
        Profile(PANELS["576x136x1"], 1024, 4, "glasses-strip-576", (0, 2, 1)),
        # SSD1306-class module on a tiny MCU: 256-byte receive buffer, two slots.
        Profile(PANELS["128x64x1"], 256, 2, "ssd1306-128x64", (0, 1, 4)),
    )
}
DEFAULT_PROFILE: Final = "640x400x4"


def get_profile(name: str) -> Profile:
    """The profile called ``name``; ValueError lists the known names otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown profile {name!r} (known: {known})") from None
