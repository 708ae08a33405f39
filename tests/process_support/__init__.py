"""Helpers of the tests that drive other processes (the daemon, ``glasses-sim``) through their
files, sockets and ptys."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

WAIT_S = 20.0  # generous: a loaded CI machine starts Python processes slowly


def wait_for(
    predicate: Callable[[], object], what: str = "condition", timeout_s: float = WAIT_S
) -> None:
    """Poll ``predicate`` until it is true; fails naming ``what`` after ``timeout_s``.  Another
    process gives nothing to wait on but its files and ports, hence the polling."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.02)
