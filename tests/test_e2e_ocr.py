"""``glasses show`` end to end, read back with real OCR from the simulator's picture.

``glasses show TEXT --display <pty>`` renders mixed Chinese and English text, sends it over
the link to ``glasses-sim display``; the simulator's /screen.png must hold exactly the host's
pixels, and PP-OCR (rapidocr-onnxruntime) must read the words from it: a wrong font, wrong
glyphs or a scrambled framebuffer fail here even if every byte was delivered as sent.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from firmware_bridge.protocol.geometry import DisplayGeometry
from glasses.cli import main as glasses_main
from glasses.display.raster import Renderer, levels_to_image
from glasses.display.views import Screen, TextView
from hw_sim.launcher import SimulatorProcess

pytestmark = pytest.mark.model

TEXT = "下一站 West Lake 西湖"
WORDS = ("下一站", "West", "Lake", "西湖")
OTHER_TEXT = "Hello 你好 world"  # shares no word with TEXT


def show(sim: SimulatorProcess, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``glasses show TEXT --display <pty>``; returns once the simulator publishes the frame
    (its ACK of the PRESENT can reach the host a moment before /screen.png changes)."""
    presents = sim.state()["presents"]
    code = glasses_main(["show", text, "--display", sim.url, "--timeout", "30"])
    out, err = capsys.readouterr()
    assert code == 0 and f"shown on {sim.info['board_id']}" in out, (code, out, err)
    sim.wait_state(lambda state: state["presents"] > presents, 10.0, "the new frame")


@pytest.mark.parametrize(
    ("profile", "scale"), [("640x400x4", 2), ("576x136x1", 3), ("128x64x1", 4)]
)
def test_show_mixed_text_reads_back_with_ocr(
    sim_process: Callable[..., SimulatorProcess],
    ocr_read: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    profile: str,
    scale: int,
) -> None:
    sim = sim_process("--profile", profile, "-q", "--save-dir", str(tmp_path / "saved"))
    geometry = DisplayGeometry(sim.info["width"], sim.info["height"], sim.info["bpp"])

    # A control screen first: the OCR check below must be able to fail.
    show(sim, OTHER_TEXT, capsys)
    control = ocr_read(Image.open(io.BytesIO(sim.get("/screen.png"))), scale)
    assert "Hello" in control and not any(word in control for word in WORDS), control

    show(sim, TEXT, capsys)
    png = Image.open(io.BytesIO(sim.get("/screen.png")))
    assert (png.mode, png.size) == ("L", (geometry.width_px, geometry.height_px))
    # Exactly what the host drew (same renderer, same font), delivered pixel for pixel ...
    expected = levels_to_image(Renderer(geometry).render_text(TEXT), geometry.bpp)
    assert np.array_equal(np.asarray(png), np.asarray(expected))
    # ... and the snapshot API writes the same picture.
    status, reply = sim.post("/api/snapshot", {})
    assert status == 200, reply
    shot = tmp_path / "saved" / reply["name"]
    assert np.array_equal(np.asarray(Image.open(shot)), np.asarray(png))

    read = ocr_read(png, scale)
    missing = [word for word in WORDS if word not in read]
    assert not missing, f"OCR read {read!r}, missing {missing}"
    # Spaces between the scripts and the words drawn, as sent (a space the bitmap font of the
    # 1-bit panel draws wide enough for the detector to box the words apart is still a space).
    # Lines are read joined with nothing: on 128 px 西湖 goes to a line of its own.
    lines = [run.text for run in Renderer(geometry).layout.scene(Screen(TextView(TEXT))).runs]
    assert "".join(lines) in ocr_read(png, scale, rows=True), lines
