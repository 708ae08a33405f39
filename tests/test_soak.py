"""Smoke test of scripts/soak.py: a run of a few seconds through every mode, a read and an
unplug, checking what it samples and reports (never how fast or how much: no timed goals)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "soak.py"

for _module in ("onnx", "onnxruntime", "rapidocr_onnxruntime", "hw_sim.launcher"):
    pytest.importorskip(_module)
pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]


def test_a_short_soak_samples_the_daemon_and_reports_the_goals(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    command = [sys.executable, str(SCRIPT), "--minutes", "0.3", "--mode-s", "4"]
    command += ["--sample-s", "2", "--unplug-every-s", "9", "--unplug-s", "1", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    report = json.loads(out.read_text(encoding="utf-8"))
    summary, samples = report["summary"], report["samples"]
    assert summary["goals"]["errors"] == {"ok": True, "count": 0, "first": []}
    assert set(summary["goals"]) >= {"rss_growth", "errors"}  # growth: judged on long runs
    assert summary["unplugs"] >= 1 and summary["presses"]["double"] >= 1
    assert summary["loaded"]["ocr"]["first_read_s"] > 0  # warmed at start-up
    assert len(samples) >= 2 and all(s["rss_mb"] > 0 and s["threads"] > 1 for s in samples)
    assert {s["mode"] for s in samples} >= {"captions", "translate"}
    with out.with_suffix(".csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(samples)
    assert "goals:" in done.stdout
