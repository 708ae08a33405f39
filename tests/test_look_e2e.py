"""LOOK end to end on the simulator: ``glasses demo`` swipes up at a drawn product with the tiny
Qwen2-VL as the vision model; the answer the daemon shows is the model's own greedy answer about
that very picture, and the glasses' screen changes from the read page to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from process_support import run_demo

pytestmark = pytest.mark.model


def expected_answer(vlm_folder: Path) -> str:
    """What the daemon's settings ask of the model about the demo's product (greedy)."""
    from glasses.llm import GenerationOptions, SamplingConfig
    from glasses.llm.vision import VisionConfig, VisionLlmEngine
    from glasses.modes.base import ModeOptions
    from glasses.modes.prompts import look_messages
    from glasses.runtime.media import product_image
    from glasses.settings import Settings
    from glasses.sources.jpeg import encode_jpeg

    s = Settings()
    jpeg = encode_jpeg(product_image(), s.look.max_side_px).data
    engine = VisionLlmEngine.load(vlm_folder, vision=VisionConfig(max_pixels=s.look.max_pixels))
    options = GenerationOptions(s.llm.max_new_tokens, SamplingConfig(greedy=True))
    prompt = ModeOptions().look_prompt
    return str(engine.generate(look_messages(prompt, jpeg, s.look.max_chars), options).text)


def test_look_shows_the_models_answer_on_the_glasses(
    llm_zoo: dict[str, Any], vlm_folder: Path, tmp_path: Path
) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    out = tmp_path / "out"
    llm = llm_zoo["optimum-qwen2-fp32"].path
    result = run_demo(out, "--vlm-model", str(vlm_folder), "--llm-model", str(llm), timeout_s=300)
    assert f"vision model: {vlm_folder}" in result.stdout
    line = next(x for x in result.stdout.splitlines() if "look answer:" in x)
    shown = json.loads(line.split("look answer:", 1)[1])
    assert shown and shown == expected_answer(vlm_folder)
    assert "look: first words" in result.stdout
    read, look = (np.asarray(Image.open(out / f"{n}.png")) for n in ("read-2", "look-page-1"))
    assert not np.array_equal(read, look)  # the answer replaced the read page on the glasses


def test_run_check_opens_the_look_model(
    vlm_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``glasses run --check`` reads the vision model's folder the daemon would load: a real one
    passes (an empty one is refused: test_config.py)."""
    from glasses.cli import main

    argv = ["run", "--check", "--set", "llm.model=", "--no-audio"]
    assert main([*argv, "--set", f"look.model={vlm_folder}"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["look"]["model"] == str(vlm_folder)
