"""Smoke test of scripts/bench_mcu.py: the 128x64x1 updates through bench.elf under QEMU.

Instruction counts are virtual (-icount), so they are checked against the goal (under 25 % of
a 64 MHz Cortex-M4 at 921600 baud) and for being counted at all; no wall-clock time is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hw_sim.qemu_device import missing_tools

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent


def test_bench_mcu_counts_instructions_per_byte_under_the_goal(tmp_path: Path) -> None:
    if missing := missing_tools():
        pytest.skip(f"{', '.join(missing)} not installed (scripts/setup.sh --test installs them)")
    out = tmp_path / "bench.json"
    command = [sys.executable, str(ROOT / "scripts" / "bench_mcu.py"), "--profiles", "128x64x1"]
    command += ["--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    results = {r["case"]: r for r in report["results"]}
    assert set(results) == {"caption-line", "caption-scroll", "page"}
    for r in results.values():
        assert r["bytes"] > 0 and 10 < r["per_byte"] < 1000, r  # counted, and plausibly
        assert r["share_pct"] < 25, r
    assert 0 < report["memory"]["128x64x1"]["ram"] < 32 * 1024
    assert "| 128x64x1 | page |" in done.stdout
