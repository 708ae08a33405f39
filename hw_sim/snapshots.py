"""PNG pictures of the panel: levels scaled to 0..255 greyscale at native resolution.

Saving every PRESENT would stall the I/O loop on PNG compression, so a small worker thread
does it from a bounded queue (a frame is skipped, and counted, when the disk cannot keep up)
and only the newest ``keep`` files it wrote are kept.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import queue
import tempfile
import threading
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image

from firmware_bridge.protocol.pixels import Levels

log = logging.getLogger(__name__)


def to_grey(levels: Levels, bpp: int) -> Levels:
    """Levels 0..2**bpp-1 as 8-bit grey: 0 stays black, the top level becomes 255."""
    scale = 255 // ((1 << bpp) - 1)
    grey: Levels = (levels.astype(np.uint16) * scale).astype(np.uint8)
    return grey


def png_bytes(levels: Levels, bpp: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(to_grey(levels, bpp)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def save_png(levels: Levels, bpp: int, path: Path) -> None:
    """Write atomically, so a viewer never opens a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(png_bytes(levels, bpp))
    tmp.replace(path)


_new_numbers = itertools.count(1)


def save_new_png(levels: Levels, bpp: int, directory: Path, prefix: str = "snapshot") -> Path:
    """Write a PNG into ``directory`` under a new name, ``{prefix}-NNNN.png``, and return its
    path. Never replaces anything: the finished file is hard-linked to a name that must not
    exist yet (not even as a symlink), so a viewer never sees it half written either."""
    fd, tmp = tempfile.mkstemp(prefix=f".{prefix}-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o644)
            out.write(png_bytes(levels, bpp))
        for number in _new_numbers:
            path = directory / f"{prefix}-{number:04d}.png"
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue  # left by an earlier run, or made by someone else: never touched
            return path
        raise AssertionError("unreachable")
    finally:
        os.unlink(tmp)


class SnapshotSaver:
    """Saves frames into ``directory`` in the background, keeping the newest ``keep``."""

    def __init__(self, directory: Path, bpp: int, keep: int = 100, queue_len: int = 8) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.bpp = bpp
        self.keep = keep
        self.saved = 0
        self.skipped = 0
        self._written: deque[Path] = deque()
        self._queue: queue.Queue[tuple[str, Levels] | None] = queue.Queue(maxsize=queue_len)
        self._thread = threading.Thread(target=self._work, name="png-saver", daemon=True)
        self._thread.start()

    def submit(self, name: str, levels: Levels) -> None:
        """Queue a copy of ``levels`` to be saved as ``name``; skipped if the queue is full."""
        try:
            self._queue.put_nowait((name, levels.copy()))
        except queue.Full:
            self.skipped += 1

    def close(self, timeout_s: float = 2.0) -> None:
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            name, levels = item
            path = self.directory / name
            try:
                save_png(levels, self.bpp, path)
            except OSError as exc:
                log.warning("cannot save %s: %s", path, exc)
                continue
            self.saved += 1
            self._written.append(path)
            while len(self._written) > self.keep:
                self._written.popleft().unlink(missing_ok=True)
