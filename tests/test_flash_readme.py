"""The README's flashing block, run as written from a fresh checkout (no keys/, no .venv/bin on
PATH, no IMGTOOL): keygen, a simulated app build, sign, the simulator, flash, list.

Two changes only: the pty link goes into the test's folder and the simulator's live view takes
any free port, so that runs side by side do not collide. The pip line is not run (no network
here): the test checks that it installs what the block needs and that those are installed.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("smpclient", reason="the flash extra (smpclient) is not installed")
pytest.importorskip("imgtool", reason="imgtool (MCUboot's signing tool) is not installed")

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
SIM_START_S = 30.0


def flashing_block() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Flashing\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^```\n(.*?)^```$", section, re.S | re.M)
    assert block is not None, "README.md: no command block under ## Flashing"
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A fresh clone after `bash scripts/setup.sh`: the scripts and a .venv, nothing else."""
    (tmp_path / "scripts").mkdir()
    script = ROOT / "scripts" / "sign_firmware.sh"
    (tmp_path / "scripts" / script.name).write_bytes(script.read_bytes())
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    return tmp_path


@pytest.fixture
def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("IMGTOOL", "VIRTUAL_ENV")}
    clean["PATH"] = (
        os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if ".venv" not in p)
        or "/usr/bin:/bin"
    )
    return clean


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_readme_flashing_block_works_from_a_fresh_checkout(
    checkout: Path, env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    lines = [
        line.replace("/tmp/glasses.tty", str(checkout / "glasses.tty")) for line in flashing_block()
    ]
    pip = lines.pop(0)
    assert pip.startswith(".venv/bin/pip install") and ".[flash,sign]" in pip, pip
    assert (checkout / ".venv" / "bin" / "imgtool").exists()
    assert not (checkout / "keys").exists()
    outputs = []
    for line in lines:
        if line.startswith(".venv/bin/glasses-sim "):
            sim = subprocess.Popen(
                ["bash", "-c", f"exec {line} --web-port 0"],
                cwd=checkout,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            processes.append(sim)
            assert sim.stdout is not None
            ready, _, _ = select.select([sim.stdout], [], [], SIM_START_S)
            assert ready and sim.stdout.readline().startswith("READY "), line
            continue
        done = subprocess.run(
            ["bash", "-c", line],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        outputs.append(done.stdout)
    assert (checkout / "keys" / "dev.pem").is_file() and (checkout / "app-0.4.0.img").is_file()
    assert "flashed 0.4.0" in outputs[-2] and "confirmed" in outputs[-2]
    assert outputs[-1].splitlines()[1].split()[:4] == ["0", "0.4.0", "active", "confirmed"]


def test_the_signing_script_says_how_to_get_imgtool(checkout: Path, env: dict[str, str]) -> None:
    (checkout / ".venv").unlink()  # setup.sh alone does not install the sign extra
    env = {**env, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        ["bash", "scripts/sign_firmware.sh", "keygen", "keys/dev"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode == 0:
        pytest.skip("imgtool is on the system PATH")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert ".venv/bin/pip install -e '.[sign]'" in done.stderr
