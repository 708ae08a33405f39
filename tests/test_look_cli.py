"""``glasses look`` as a user runs it, on the tiny Qwen2-VL: the answer for a picture file, its
JSON with the picture's tokens and timings, and errors that say what to do."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent


def glasses(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glasses.cli", "look", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def picture(path: Path, color: tuple[int, int, int]) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), color).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path


def test_look_answers_about_a_picture(vlm_folder: Path, tmp_path: Path) -> None:
    red = picture(tmp_path / "red.jpg", (200, 20, 20))
    blue = picture(tmp_path / "blue.jpg", (20, 20, 200))
    args = ("--model", str(vlm_folder), "--max-new-tokens", "6", "--json")
    results = [glasses(str(p), *args) for p in (red, blue)]
    assert all(r.returncode == 0 for r in results), results[0].stderr
    red_json, blue_json = (json.loads(r.stdout) for r in results)
    assert red_json["picture_tokens"] > 0 and red_json["timings"]["generated_tokens"] == 6
    assert red_json["timings"]["time_to_first_token_s"] >= red_json["timings"]["prepare_s"]
    assert red_json["text"] != blue_json["text"]  # the picture reached the model
    plain = glasses(str(red), "--model", str(vlm_folder), "--max-new-tokens", "6")
    assert plain.returncode == 0 and plain.stdout.strip() == red_json["text"].strip()


def test_look_at_a_camera_with_a_question(vlm_folder: Path, tmp_path: Path) -> None:
    """--camera N takes the camera's still frame (here an image folder that keeps looking at
    one picture) and --prompt is the question asked about it."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(4):
        picture(frames / f"{i}.jpg", (200, 20, 20))
    args = ("--model", str(vlm_folder), "--max-new-tokens", "6", "--json")
    asked = glasses("--camera", str(frames), "--prompt", "Which colour is it?", *args)
    default = glasses("--camera", str(frames), *args)
    assert asked.returncode == 0 and default.returncode == 0, asked.stderr + default.stderr
    asked_json, default_json = json.loads(asked.stdout), json.loads(default.stdout)
    assert asked_json["prompt"] == "Which colour is it?"
    assert asked_json["picture"]["bytes"] > 0 and asked_json["picture_tokens"] > 0
    assert asked_json["text"] != default_json["text"]  # the question reached the model
    none = glasses("--camera", str(tmp_path / "no-such-camera"), *args)
    assert none.returncode != 0 and "no-such-camera" in none.stderr


def test_look_errors_say_what_to_do(
    vlm_folder: Path, llm_zoo: dict[str, object], tmp_path: Path
) -> None:
    missing = glasses(str(tmp_path / "nope.jpg"), "--model", str(vlm_folder))
    assert missing.returncode != 0 and "no image at" in missing.stderr
    text_only = llm_zoo["optimum-qwen2-fp32"].path
    red = picture(tmp_path / "red.jpg", (200, 20, 20))
    refused = glasses(str(red), "--model", str(text_only))
    assert refused.returncode != 0
    assert "text-only model" in refused.stderr and "qwen2-vl-2b-instruct-int4" in refused.stderr
    (tmp_path / "not.jpg").write_text("not a picture")
    broken = glasses(str(tmp_path / "not.jpg"), "--model", str(vlm_folder))
    assert broken.returncode != 0 and "cannot be decoded" in broken.stderr


def test_the_pixel_budget_defaults_to_the_look_setting(vlm_folder: Path, tmp_path: Path) -> None:
    from glasses.settings import LookSettings

    roomy = shutil.copytree(vlm_folder, tmp_path / "roomy")  # the tiny's own cap is 20 tokens
    config = json.loads((roomy / "preprocessor_config.json").read_text(encoding="utf-8"))
    config["max_pixels"] = 28 * 28 * 400
    (roomy / "preprocessor_config.json").write_text(json.dumps(config), encoding="utf-8")
    big = tmp_path / "big.jpg"
    Image.new("RGB", (640, 480), (90, 140, 30)).save(big, "JPEG")
    budget = LookSettings().max_pixels
    results = [
        glasses(str(big), "--model", str(roomy), "--max-new-tokens", "1", "--json", *extra)
        for extra in ((), ("--max-pixels", str(4 * budget)))
    ]
    assert all(r.returncode == 0 for r in results), results[0].stderr
    default, wider = (json.loads(r.stdout)["picture_tokens"] for r in results)
    assert 32 <= default <= budget // (28 * 28) < wider
    assert f"default {budget}, the look.max_pixels" in " ".join(glasses("--help").stdout.split())
