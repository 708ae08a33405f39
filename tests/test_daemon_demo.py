"""``glasses demo`` as a user runs it, fast (``--step-s 0``), with the tiny test models standing
in for the real ones: every mode is walked through on the simulator and leaves its PNGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from process_support import run_demo

pytestmark = pytest.mark.model

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
    llm = llm_zoo["optimum-qwen2-fp32"].path
    result = run_demo(out, "--asr-model", str(asr), "--llm-model", str(llm), timeout_s=120)
    for name in SNAPSHOTS:
        assert (out / f"{name}.png").is_file(), f"{name}.png missing\n{result.stdout}"
    assert "note: no" not in result.stdout  # both models were found and used
    # Speech changed the captions; the capture changed the read screen.
    assert not np.array_equal(pixels(out / "caption-1.png"), pixels(out / "caption-7.png"))
    assert not np.array_equal(pixels(out / "read-1.png"), pixels(out / "read-2.png"))
    # A clean pty: nothing corrupted or lost (a retransmit after a slow moment is no fault).
    assert "done:" in result.stdout and "0 CRC errors, 0 NAKs" in result.stdout
