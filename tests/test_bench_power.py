"""Smoke test of scripts/bench_power.py: a day in miniature, seconds per state, checking what it
measures and reports (the panel asleep while taken off, the last screen back and listening again
once put on; never how fast or how much)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_power.py"

for _module in ("onnx", "onnxruntime", "rapidocr_onnxruntime", "hw_sim.launcher"):
    pytest.importorskip(_module)
pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]


def test_a_short_day_reports_every_state(tmp_path: Path) -> None:
    out = tmp_path / "power.json"
    command = [sys.executable, str(SCRIPT), "--phase-s", "8", "--settle-s", "3", "--put-on", "2"]
    command += ["--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-3000:]  # 1: a goal missed

    report = json.loads(out.read_text(encoding="utf-8"))
    phases = report["phases"]
    assert list(phases) == ["talking", "silent", "reading", "taken_off"]
    for name, phase in phases.items():
        assert phase["seconds"] > 0 and phase["cpu_s_per_min"] >= 0, name
        assert phase["wakeups_per_s"] > 0 and 0 <= phase["display_on_share"] <= 1, name
    assert phases["talking"]["bytes_to_glasses_per_min"] > 0  # captions went to the glasses
    off = phases["taken_off"]
    assert off["power"]["state"] == "off_head" and off["power"]["listening"] is False
    assert off["display_on_share"] == 0.0
    assert phases["reading"]["power"]["state"] == "worn"  # the presses keep it awake
    put_on = report["put_on"]
    assert put_on["repeats"] == 2 and len(put_on["runs"]) == 2
    screens = put_on["screens"]  # the screen kept, or one held back while asleep after it
    assert sum(screens.values()) == 2 and "changed" not in screens, screens
    for run in put_on["runs"]:  # in order: the WORN reached the daemon, the microphone, a chunk
        assert 0 < run["post_to_power_stage_ms"] < run["listening_ms"], run
        assert run["power_stage_to_microphone_open_ms"] >= 0, run
        assert run["microphone_open_to_first_chunk_ms"] > 0 and run["panel_awake_ms"] > 0, run
    assert set(put_on["summary_ms"]) >= {"panel_awake_ms", "listening_ms"}
    put_on_goals = {"put_on_panel_awake_ms", "put_on_listening_ms"}
    assert set(report["goals"]) == {"taken_off", "silent"} | put_on_goals
