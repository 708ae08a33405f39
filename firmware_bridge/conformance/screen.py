"""The optional ``--screen`` hook: read back what the panel shows, for the checks of pixels.

The protocol has no read-back message, so BLIT, COPY, CLEAR and PRESENT results can only be
seen in a dump of the front buffer: a greyscale image (PNG or any format Pillow reads) whose
grey 0..255 maps linearly onto levels 0..2**bpp-1, fetched from an ``http://`` URL (the
simulator's ``/screen.png``) or read from a file the firmware's harness rewrites.
"""

from __future__ import annotations

import io
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Final

import numpy as np

from firmware_bridge.protocol.pixels import Levels

HTTP_TIMEOUT_S: Final = 2.0
SETTLE_POLL_S: Final = 0.02


class ScreenError(RuntimeError):
    """The screen dump could not be read or does not fit the device's geometry."""


class ScreenReader:
    """Reads the front buffer of a ``width_px`` x ``height_px`` panel at ``bpp`` as levels."""

    def __init__(self, source: str, width_px: int, height_px: int, bpp: int) -> None:
        self.source = source
        self.shape = (height_px, width_px)
        self.max_level = (1 << bpp) - 1

    def read(self) -> Levels:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(self._fetch())) as image:
                grey = np.asarray(image.convert("L"), dtype=np.uint16)
        except (UnidentifiedImageError, OSError) as exc:
            raise ScreenError(f"{self.source} is not an image: {exc}") from None
        if grey.shape != self.shape:
            h, w = self.shape
            raise ScreenError(
                f"{self.source} is {grey.shape[1]}x{grey.shape[0]}, the device said {w}x{h}: "
                "is --screen the dump of this device?"
            )
        levels: Levels = ((grey * self.max_level + 127) // 255).astype(np.uint8)
        return levels

    def _fetch(self) -> bytes:
        if self.source.startswith(("http://", "https://")):
            try:
                with urllib.request.urlopen(self.source, timeout=HTTP_TIMEOUT_S) as reply:
                    data: bytes = reply.read()
                    return data
            except (urllib.error.URLError, OSError) as exc:
                raise ScreenError(f"cannot fetch the screen dump {self.source}: {exc}") from None
        try:
            return Path(self.source).read_bytes()
        except OSError as exc:
            raise ScreenError(f"cannot read the screen dump {self.source}: {exc}") from None

    def wait_for(self, expected: Levels, settle_s: float) -> tuple[bool, Levels]:
        """Read until the dump equals ``expected`` or ``settle_s`` has passed (a dump may lag
        the device by a moment); returns (equal, last dump)."""
        end = time.monotonic() + settle_s
        while True:
            shown = self.read()
            if np.array_equal(shown, expected) or time.monotonic() >= end:
                return bool(np.array_equal(shown, expected)), shown
            time.sleep(SETTLE_POLL_S)


def difference(expected: Levels, shown: Levels) -> str:
    """Where two screens differ, in words: the count and the first differing row."""
    rows, cols = np.nonzero(expected != shown)
    if rows.size == 0:
        return "identical"
    y, x = int(rows[0]), int(cols[0])
    end = min(x + 8, expected.shape[1])
    return (
        f"{rows.size} pixels differ; first at (x={x}, y={y}): row {y} from x={x} shows levels "
        f"{shown[y, x:end].tolist()}, expected {expected[y, x:end].tolist()}"
    )


__all__ = ["ScreenError", "ScreenReader", "difference"]
