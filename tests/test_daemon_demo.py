"""``glasses demo`` as a user runs it, fast (``--step-s 0``), with the tiny test models standing
in for the real ones: every mode is walked through on the simulator and leaves its PNGs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = (
    "welcome",
    *(f"caption-{i}" for i in range(1, 8)),
    "translate-1",
    "translate-2",
    "read-1",
    "read-2",
    "assist-1",
    "answer-page-1",
)


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_demo_walks_every_mode_with_models(llm_zoo: dict[str, Any], tmp_path: Path) -> None:
    pytest.importorskip("sherpa_onnx")
    pytest.importorskip("rapidocr_onnxruntime")
    from asr_support.tiny_sensevoice import build_tiny_sensevoice

    asr = build_tiny_sensevoice(tmp_path / "sensevoice", language="zh")
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "glasses.cli", "demo", "--step-s", "0", "--web-port", "0"]
    argv += ["--out", str(out), "--profile", "128x64x1", "--asr-model", str(asr)]
    argv += ["--llm-model", str(llm_zoo["optimum-qwen2-fp32"].path)]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for name in SNAPSHOTS:
        assert (out / f"{name}.png").is_file(), f"{name}.png missing\n{result.stdout}"
    assert "note: no" not in result.stdout  # both models were found and used
    # Speech changed the captions; the capture changed the read screen.
    assert not np.array_equal(pixels(out / "caption-1.png"), pixels(out / "caption-7.png"))
    assert not np.array_equal(pixels(out / "read-1.png"), pixels(out / "read-2.png"))
    assert "done:" in result.stdout and "0 retransmits" in result.stdout
