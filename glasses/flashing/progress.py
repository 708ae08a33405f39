"""A plain text progress bar for uploads, redrawn in place on a terminal.

On a terminal the bar is redrawn with a carriage return; into a file or pipe (CI logs) it
prints a line at every 10 % instead, so logs stay short and readable.
"""

from __future__ import annotations

import sys
import time
from typing import Final, TextIO

BAR_WIDTH: Final = 30


class ProgressBar:
    """Call with (done_bytes, total_bytes); :meth:`finish` ends the line."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty()
        self._started_s = time.monotonic()
        self._last_tenth = -1
        self._drawn = False

    def __call__(self, done_bytes: int, total_bytes: int) -> None:
        fraction = done_bytes / total_bytes if total_bytes else 1.0
        if not self.interactive:
            tenth = int(fraction * 10)
            if tenth == self._last_tenth:
                return
            self._last_tenth = tenth
        filled = int(fraction * BAR_WIDTH)
        elapsed_s = max(time.monotonic() - self._started_s, 1e-6)
        rate_kib_s = done_bytes / 1024 / elapsed_s
        line = (
            f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%} "
            f"{done_bytes}/{total_bytes} B {rate_kib_s:.1f} KiB/s"
        )
        self.stream.write(("\r" + line) if self.interactive else line + "\n")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self.interactive and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False


__all__ = ["ProgressBar"]
