"""One progress line for long byte transfers: model downloads and firmware uploads.

On a terminal the line is redrawn in place, at most every ``REDRAW_S``, and erased to its
end; into a file or a pipe (CI logs) it is printed at each tenth of the way instead, without
escape codes, so logs stay short and readable.  ``finish`` prints the final state with a note
("ok", "already present").
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Final, TextIO

REDRAW_S: Final = 0.2


def human_bytes(count: float) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units, as download sizes are usually given)."""
    if count >= 1e9:
        return f"{count / 1e9:.2f} GB"
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.1f} kB"


class ProgressLine:
    """Call with ``(done_bytes, total_bytes)``; ``total_bytes`` may be None when unknown."""

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty()
        self._clock = clock
        self._started_s = clock()
        self._drawn_s: float | None = None
        self._last_tenth = -1
        self._done_bytes = 0
        self._open = False  # a redrawn line without its newline yet

    def __call__(self, done_bytes: int, total_bytes: int | None) -> None:
        self._done_bytes = done_bytes
        now_s = self._clock()
        if self.interactive:
            recent = self._drawn_s is not None and now_s - self._drawn_s < REDRAW_S
            if recent and (total_bytes is None or done_bytes < total_bytes):
                return  # the last state is always drawn
        else:
            tenth = int(10 * done_bytes / total_bytes) if total_bytes else -1
            if tenth == self._last_tenth or tenth < 0:
                return
            self._last_tenth = tenth
        self._drawn_s = now_s
        self._write(self._describe(done_bytes, total_bytes, now_s))

    def finish(self, note: str | None = None, done_bytes: int | None = None) -> None:
        """Ends the line; with a note, the final line says the size done and the note."""
        if done_bytes is not None:
            self._done_bytes = done_bytes
        if note is not None:
            self._write(f"{self.label}  {human_bytes(self._done_bytes)}  {note}")
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def _describe(self, done_bytes: int, total_bytes: int | None, now_s: float) -> str:
        rate = human_bytes(done_bytes / max(now_s - self._started_s, 1e-6))
        if not total_bytes:
            return f"{self.label}  {human_bytes(done_bytes)}  {rate}/s"
        return (
            f"{self.label}  {human_bytes(done_bytes)}/{human_bytes(total_bytes)}  "
            f"{done_bytes / total_bytes:4.0%}  {rate}/s"
        )

    def _write(self, line: str) -> None:
        if self.interactive:
            self.stream.write(f"\r{line}\033[K")
            self._open = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


__all__ = ["ProgressLine", "human_bytes"]
