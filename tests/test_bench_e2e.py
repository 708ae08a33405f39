"""Smoke test of scripts/bench_e2e.py: one quick run on the tiny model, checking the report's
structure only (times are never checked)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_e2e.py"

for _module in ("onnx", "onnxruntime.quantization.matmul_nbits_quantizer", "hw_sim.launcher"):
    pytest.importorskip(_module)
pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]

FIGURES = {"n", "median", "max"}


def test_quick_tiny_run_reports_every_figure(tmp_path: Path) -> None:
    out, doc = tmp_path / "report.json", tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n<!-- bench_e2e:start -->\nold\n<!-- bench_e2e:end -->\n")
    command = [sys.executable, str(SCRIPT), "--tiny", "--cache", str(tmp_path / "cache")]
    command += ["--utterances", "1", "--translations", "1", "--captures", "1"]
    command += ["--silence-s", "0.5", "--json", str(out), "--write", str(doc)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) == {"setup", "captions", "translate", "read", "resources", "goals"}
    for key in ("asr_ms", "final_to_wire_ms", "final_to_present_ms"):
        assert set(report["captions"][key]) == FIGURES
    translate = report["translate"]
    assert len(translate["runs"]) == 1
    run = translate["runs"][0]
    for key in (
        "final_to_first_delta_ms",
        "model_compute_ms",
        "first_delta_to_wire_ms",
        "wire_to_present_ms",
        "final_to_wire_ms",
        "final_to_present_ms",
        "overhead_to_wire_ms",
    ):
        assert key in run and set(translate[key]) == FIGURES
    assert set(translate["warmup"]) == set(run)
    assert run["model_runs"] >= 1  # the prefill at least ran between final text and first text
    for key in ("ocr_ms", "ocr_to_wire_ms", "ocr_to_present_ms"):
        assert set(report["read"][key]) == FIGURES
    resources = report["resources"]
    for key in ("idle_cpu_percent", "peak_rss_mb", "rss_after_llm_load_mb"):
        assert isinstance(resources[key], int | float)
    assert set(report["goals"]) == {"overhead_to_wire_ms", "idle_cpu_percent"}
    assert all(isinstance(goal["met"], bool) for goal in report["goals"].values())

    text = doc.read_text(encoding="utf-8")
    assert "old" not in text and text.count("<!-- bench_e2e:start -->") == 1
    assert "not model compute" in text and "--tiny" in text
