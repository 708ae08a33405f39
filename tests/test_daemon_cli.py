"""``glasses run`` and ``glasses status`` as a user runs them: a subprocess against the simulator,
stopped with SIGTERM, which must end it cleanly: exit code 0, the status file says stopped, and
the link's I/O thread is woken, not waited out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from process_support import wait_for

pytest.importorskip("hw_sim.launcher")
from hw_sim.launcher import SimulatorProcess

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 20.0


def glasses(*args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glasses.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture
def sim(sim_process: Callable[..., SimulatorProcess]) -> SimulatorProcess:
    return sim_process("--profile", "128x64x1", "-q")


def test_run_serves_reports_status_and_stops_on_sigterm(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    soundfile = pytest.importorskip("soundfile")
    wav = tmp_path / "quiet.wav"
    soundfile.write(str(wav), np.zeros(16000 * 30, dtype=np.float32), 16000)
    status_file = tmp_path / "status.json"
    env = {**os.environ, "GLASSES_SENSEVOICE_DIR": ""}
    argv = [sys.executable, "-m", "glasses.cli", "run", "--display", sim.url]
    argv += ["--audio-file", str(wav), "--mode", "translate", "--set", "llm.model="]
    argv += ["--set", f"log.status_file={status_file}", "--set", "log.status_interval_s=0.2"]
    argv += ["--set", "log.level=info"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        wait_for(
            lambda: (
                status_file.exists()
                and json.loads(status_file.read_text()).get("display", {}).get("state")
                == "connected"
                and json.loads(status_file.read_text())["peripherals"].get("microphone") == "up"
            ),
            "the daemon to connect",
        )
        shown = glasses("status", "--file", str(status_file))
        assert shown.returncode == 0, shown.stderr
        assert "running" in shown.stdout and "mode translate" in shown.stdout
        as_json = json.loads(glasses("status", "--file", str(status_file), "--json").stdout)
        assert as_json["pid"] == proc.pid and as_json["llm"] == "none"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=10)
    assert code == 0, stderr
    assert "did not stop in time" not in stderr  # the link's I/O thread was woken, not waited out
    assert "no language model configured" in stderr  # says what is missing...
    assert "level=info" in stderr and "logger=" in stderr  # ...and logs key=value lines
    assert json.loads(status_file.read_text())["state"] == "stopped"
    stale = glasses("status", "--file", str(status_file))
    assert stale.returncode == 1 and "not running" in stale.stdout


def test_bad_settings_are_reported_with_the_key() -> None:
    result = glasses("run", "--check", "--set", "llm.threads=four")
    assert result.returncode == 2
    assert "llm.threads must be an integer, got 'four'" in result.stderr
    ok = glasses("run", "--check", "--profile", "pi5", "--set", "llm.threads=4", "--mode", "read")
    assert ok.returncode == 0, ok.stderr
    settings = json.loads(ok.stdout)
    assert settings["llm"]["threads"] == 4 and settings["camera"]["source"] == "picamera2"
    assert settings["modes"]["start"] == "read"


def test_describe_config_and_missing_status(tmp_path: Path) -> None:
    table = glasses("run", "--describe-config").stdout
    assert table.startswith("| key | default | meaning |") and "`llm.threads`" in table
    missing = glasses("status", "--file", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "is `glasses run` running?" in missing.stderr
