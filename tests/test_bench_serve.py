"""Smoke test of scripts/bench_serve.py: a few slow-loris connections and a few requests,
checking what it reports and where it writes it (never how fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_serve.py"

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.bench

PHASE = {"requests", "failed", "failures", "median_ms", "p95_ms", "max_ms", "latencies_ms"}


def test_a_short_run_reports_both_phases_and_writes_its_section(tmp_path: Path) -> None:
    out, doc = tmp_path / "serve.json", tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n<!-- bench_serve:start -->\nold\n<!-- bench_serve:end -->\n\nkept\n"
    )
    # A 1 s deadline and 0.1 s trickles: the tricklers are cut off and opened again mid-run.
    command = [sys.executable, str(SCRIPT), "--slow", "5", "--requests", "5"]
    command += ["--interval-s", "0.5", "--trickle-s", "0.1", "--settle-s", "0.2"]
    command += ["--request-timeout-s", "1", "--json", str(out), "--write", str(doc)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-3000:]  # 1: goal missed

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) >= {"command", "machine", "settings", "alone", "with_slow_loris", "goal"}
    for phase in (report["alone"], report["with_slow_loris"]):
        assert set(phase) == PHASE
        assert phase["requests"] == 5 and len(phase["latencies_ms"]) == 5
        assert phase["failed"] == 0, phase["failures"]  # answered, slow-loris or not
        assert 0 < phase["median_ms"] <= phase["p95_ms"] <= phase["max_ms"]
    slow = report["slow_loris"]
    assert slow["connections"] == 5 and slow["open_before"] == slow["open_after"] == 5
    assert slow["reopened_after_the_deadline"] > 0  # the server's deadline cut them off
    assert set(report["added_delay_ms"]) == {"median", "p95", "max"}
    assert report["goal"]["limit_ms"] == 1000 and report["goal"]["met"] is (done.returncode == 0)
    assert report["settings"]["request_timeout_s"] == 1

    text = doc.read_text(encoding="utf-8")
    assert "old" not in text and text.endswith("<!-- bench_serve:end -->\n\nkept\n")
    section = text.split("<!-- bench_serve:start -->")[1]
    assert "## glasses serve under slow-loris" in section
    assert "scripts/bench_serve.py --slow 5 --requests 5" in section
    assert "beside 5 slow-loris connections | 5 of 5 |" in section
