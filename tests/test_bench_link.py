"""Smoke test of scripts/bench_link.py: one quick run through the simulator process.

Only byte counts are checked (they are deterministic for a given font); times never are.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from firmware_bridge.protocol.messages import BLIT_HEADER_LEN

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_link.py"
ARGS = ["--quick", "--reps", "1", "--baud", "921600"]
CASES = {
    "caption-partial": "caption: partial text grows by a word",
    "caption-wrap": "caption: partial wraps to a new line, 3 lines scroll up",
    "caption-scroll": "caption: new final line, 3 lines scroll up",
    "page": "full page replaces the captions",
    "clear": "full-screen clear",
}

pytest.importorskip("hw_sim.launcher")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_link", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    from glasses.display.fonts import FontNotFoundError, find_font

    try:
        find_font()
    except FontNotFoundError as exc:
        pytest.skip(f"no font to render with: {exc}")
    out = tmp_path_factory.mktemp("bench-link") / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *ARGS, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(out.read_text())


def cases_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (profile,) = report["profiles"]
    assert profile["profile"] == "640x400x4"
    return {case["key"]: case for case in profile["cases"]}


def test_the_table_has_a_row_per_case(bench: tuple[str, dict[str, Any]]) -> None:
    stdout, _ = bench
    first, *rest = stdout.splitlines()
    assert first.startswith(f"Command: `python scripts/bench_link.py {' '.join(ARGS)} --json ")
    table = [line for line in rest if line.startswith("|")]
    assert "921600 baud: median / p90 ms" in table[0]
    assert [row.split("|")[1].strip() for row in table[2:]] == list(CASES.values())


def test_every_timed_update_went_over_the_link(bench: tuple[str, dict[str, Any]]) -> None:
    for key, case in cases_of(bench[1]).items():
        run = case["runs"]["921600"]
        assert len(run["time_ms"]) == 1, key
        # Headers carry other seq/ack values than the offline count: COBS may differ by a
        # byte per frame. Retransmits and keepalives only add.
        assert run["bytes_tx"][0] >= case["wire_bytes"] - case["messages"], key


def test_a_one_line_caption_update_is_under_a_tenth_of_a_raw_frame(
    bench: tuple[str, dict[str, Any]],
) -> None:
    cases = cases_of(bench[1])
    for case in cases.values():
        assert case["full_raw_frame_bytes"] > 640 * 400 * 4 // 8
        assert case["wire_bytes"] <= case["raw_same_rects_bytes"]
    partial = cases["caption-partial"]
    assert partial["wire_bytes"] < 0.10 * partial["full_raw_frame_bytes"]
    assert partial["copies"] == 0
    # A scroll moves the lines that stay with one COPY on the device and sends only the new
    # line (3.6 % of a raw frame with Noto Sans CJK for a full new line; 11.7 % without COPY).
    for key in ("caption-wrap", "caption-scroll"):
        case = cases[key]
        assert case["copies"] == 1, key
        assert case["wire_bytes"] < 0.10 * case["full_raw_frame_bytes"], key
        assert case["wire_bytes"] < case["raw_same_rects_bytes"] / 1.5, key
    assert cases["clear"]["messages"] == 2  # CLEAR + PRESENT


def test_raw_frames_respect_the_payload_limit() -> None:
    bench_link = load_script()
    from hw_sim.profiles import PROFILES

    rng = np.random.default_rng(3)
    for profile in PROFILES.values():
        levels = rng.integers(0, 1 << profile.bpp, (profile.height_px, profile.width_px))
        msgs = bench_link.full_raw_frame(levels.astype(np.uint8), profile)
        blits = msgs[:-1]
        budget = profile.max_payload - BLIT_HEADER_LEN
        assert all(len(blit.data) <= budget for blit in blits)
        pixel_bytes = profile.width_px * profile.height_px * profile.bpp // 8
        assert sum(len(blit.data) for blit in blits) == pixel_bytes
        assert bench_link.wire_bytes(msgs) > pixel_bytes
