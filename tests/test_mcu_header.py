"""mcu/lib/include/gl_protocol.h and gl_profiles.h are generated from the Python definitions
(scripts/gen_mcu_header.py) and committed: they must be what the script generates now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_mcu_header.py"


def test_generated_headers_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_header_has_every_message_type_and_reason() -> None:
    from firmware_bridge.protocol.messages import MsgType, Reason

    text = (ROOT / "mcu" / "lib" / "include" / "gl_protocol.h").read_text(encoding="utf-8")
    for t in MsgType:
        assert f"GL_T_{t.name} = 0x{int(t):02X}," in text
    for r in Reason:
        assert f"GL_REASON_{r.name} = {int(r)}," in text


def test_check_reports_a_stale_header(tmp_path: Path) -> None:
    """--check names the file and the fix when a header differs from what it generates."""
    include = ROOT / "mcu" / "lib" / "include"
    for name in ("gl_protocol.h", "gl_profiles.h"):
        (tmp_path / name).write_bytes((include / name).read_bytes())
    with (tmp_path / "gl_profiles.h").open("a", encoding="utf-8") as f:
        f.write("/* edited by hand */\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--include", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "gl_profiles.h" in result.stderr and "gen_mcu_header.py" in result.stderr
    assert "gl_protocol.h" not in result.stderr
