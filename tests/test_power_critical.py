"""A critical battery end to end: ``glasses run`` on the simulator hears the glasses' EVENT
BATTERY at the critical level, shows the warning, stops itself cleanly (exit 0) and says why in
the status file and in ``glasses status``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from process_support import ROOT, wait_for

from glasses.runtime.status import format_status

pytestmark = pytest.mark.process


@pytest.fixture
def sim(sim_process: Callable[..., Any]) -> Any:
    return sim_process("--profile", "128x64x1", "-q")


def test_a_critical_battery_warns_then_stops_the_daemon_cleanly(sim: Any, tmp_path: Path) -> None:
    status_file = tmp_path / "status.json"
    env = {**os.environ, "GLASSES_SENSEVOICE_DIR": ""}
    argv = [sys.executable, "-m", "glasses.cli", "run", "--display", sim.url, "--no-audio"]
    argv += ["--set", f"log.status_file={status_file}", "--set", "llm.model="]
    argv += ["--set", "power.critical_battery_percent=5", "--mode", "captions"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)

    def status() -> dict[str, Any]:
        try:
            return dict(json.loads(status_file.read_text()))
        except (OSError, ValueError):  # not written yet, or caught mid-rewrite
            return {}

    try:
        wait_for(lambda: status().get("state") == "running", "the daemon to run")
        assert status()["power"]["state"] == "worn"
        assert sim.post("/api/event", {"kind": "battery", "percent": 3})[0] == 200
        wait_for(
            lambda: status().get("power", {}).get("state") == "shutting_down",
            "the warning before the shutdown",
        )
        assert not sim.state()["sleeping"]  # the warning is shown, not slept through
        code = proc.wait(30)  # the warning lasts a few seconds, then a clean stop
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=10)
    assert code == 0, stderr
    final = status()
    assert final["state"] == "stopped"
    assert final["stop_reason"] == "the glasses' battery is critical (battery 3 %)"
    assert "stopped itself: the glasses' battery is critical" in format_status(final)
    assert "power: shutting_down" in format_status(final)
