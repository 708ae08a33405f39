"""scripts/bench_perception.py --quick: it runs, prints its tables, and our OCR reads the test
signs at least as well as rapidocr with its defaults, word spaces counted (accuracy is
deterministic; timings are never asserted)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_perception.py"
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    for module in ("rapidocr_onnxruntime", "sherpa_onnx", "onnxruntime", "onnx", "soundfile"):
        pytest.importorskip(module)
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    if not FONT.exists():
        pytest.skip(f"{FONT} missing")
    out = tmp_path_factory.mktemp("bench") / "perception.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "GLASSES_SENSEVOICE_DIR": ""},  # the tiny models only
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.loads(out.read_text())


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_perception", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_perception"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_ocr_score_counts_word_spaces_and_row_breaks() -> None:
    char_errors = bench_module().char_errors
    assert char_errors("西湖游船 West Lake boats", "西湖游船 West Lake boats") == 0
    assert char_errors("西湖游船 West Lake boats", "西湖游船WestLakeboats") == 3  # one per space
    assert char_errors("出口 Exit B", "出口 ExitB") == 1
    assert char_errors("营业时间9:00", "营业时间 9:00") == 1  # an invented space too
    assert char_errors("出口\nEXIT", "出口 EXIT") == 1  # two rows read as one
    assert char_errors("出口", "") == 2 and char_errors("", "EXIT") == 4


def table(stdout: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first markdown table after ``heading``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows


def test_prints_command_and_three_tables(quick_run: tuple[str, dict]) -> None:
    stdout, report = quick_run
    assert "    python scripts/bench_perception.py --quick --json " in stdout
    assert stdout.count("Machine: ") == 1
    vad = table(stdout, "### VAD")
    assert vad[0][:4] == ["part", "CPU s", "audio s", "% of one core"]
    assert set(vad[1][0]) <= {"-", ":"}
    assert vad[2][3].endswith("%")
    ocr = table(stdout, "### OCR")
    assert ocr[0][0] == "frame" and "char errors (spaces counted)" in ocr[0]
    variants = [  # rapidocr's own detector settings, and ours, with and without the decoder
        "`OcrEngine(OcrConfig(det_unclip_ratio=1.6))`",
        "`OcrEngine(OcrConfig(det_unclip_ratio=1.6, restore_spaces=False))`",
        "`OcrEngine(OcrConfig(det_limit_type='min', det_unclip_ratio=1.6))`",
        "`OcrEngine(OcrConfig(det_limit_type='min', det_unclip_ratio=1.6, restore_spaces=False))`",
        "`OcrEngine(OcrConfig(restore_spaces=False))`",
    ]
    engines = ["`RapidOCR()` defaults", "`OcrEngine()`", *variants]
    assert [row[:2] for row in ocr[2:]] == [
        *(["640x480", name] for name in engines),
        *(["1280x720", name] for name in engines),
        ["1280x720", "`OcrEngine(OcrConfig(max_side_px=960))`"],
    ]
    assert all(len(row) == len(ocr[0]) for row in ocr)
    asr = table(stdout, "### ASR")
    assert asr[0][:4] == ["model", "kind", "utterances", "RTF final"]
    assert [row[1] for row in asr[2:]] == ["sensevoice", "moonshine", "transducer"]
    assert all("random-weight" in row[0] and len(row) == len(asr[0]) for row in asr[2:])
    assert all(entry["utterances"] == 2 for entry in report["asr"])
    assert report["vad"]["utterances_found"] == report["vad"]["utterances_expected"] == 2
    assert "Goals:" in stdout


def test_our_ocr_reads_the_signs_at_least_as_well_as_rapidocr(quick_run: tuple[str, dict]) -> None:
    _, report = quick_run
    for size in ("640x480", "1280x720"):
        cell = report["ocr"][size]
        ours, theirs = cell["ours"], cell["rapidocr"]
        assert ours["chars_expected"] == theirs["chars_expected"] > 200
        assert ours["char_errors"] <= theirs["char_errors"], (size, ours["texts"])
        assert ours["signs_exact"] >= theirs["signs_exact"], (size, ours["texts"])
        # The demo's mixed sign, word spaces and all (it read "西湖游船WestLakeboats").
        assert "西湖游船 West Lake boats\n票价 55元 Tickets 55 yuan\n出口 Exit B" in ours["texts"]
    assert report["goals"]["ocr_accuracy"] is True
