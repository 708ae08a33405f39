"""Helpers of the tests that drive other processes (the daemon, ``glasses-sim``) through their
files, sockets and ptys."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
WAIT_S = 20.0  # generous: a loaded CI machine starts Python processes slowly


def wait_for(
    predicate: Callable[[], object], what: str = "condition", timeout_s: float = WAIT_S
) -> None:
    """Poll ``predicate`` until it is true; fails naming ``what`` after ``timeout_s``.  Another
    process (or a thread inside the code under test) gives nothing to wait on but what it
    changes, hence the polling."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.02)


def run_demo(
    out: Path, *flags: str, timeout_s: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``glasses demo`` in a process as a user runs it, fast (no pauses, no web page) on the
    128x64x1 profile with its snapshots in ``out``; it must exit 0 (else its output is the
    failure).  ``flags`` name the models."""
    argv = [sys.executable, "-m", "glasses.cli", "demo", "--step-s", "0", "--web-port", "0"]
    argv += ["--out", str(out), "--profile", "128x64x1", *flags]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT, env=env, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result
