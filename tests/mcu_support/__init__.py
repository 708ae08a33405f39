"""Building and driving the C device library (mcu/) from the tests.

The library is built with the real compilers (gcc, clang, arm-none-eabi-gcc) through
mcu/Makefile into a temporary folder; a missing compiler skips its tests with the Debian
package to install. The harness (mcu/test/harness.c) reads commands on stdin and prints what
the device sent and shows; :class:`Script` writes those commands.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent.parent
MCU: Final = ROOT / "mcu"
PROFILES: Final = ("640x400x4", "576x136x1", "128x64x1")
COMPILERS: Final = ("gcc", "clang")
_PACKAGES: Final = {
    "gcc": "gcc",
    "clang": "clang",
    "arm-none-eabi-gcc": "gcc-arm-none-eabi libnewlib-arm-none-eabi",
    "make": "make",
}


def require_tool(name: str) -> str:
    """The path of ``name``, or skip the test naming the Debian package that provides it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found: install the Debian package(s) {_PACKAGES.get(name, name)}")
    return path


def make(build_dir: Path, *targets: str, timeout_s: float = 300.0) -> str:
    """Run ``make -C mcu BUILD=build_dir targets``; fail with the compiler's output."""
    require_tool("make")
    result = subprocess.run(
        ["make", "-s", "-C", str(MCU), f"BUILD={build_dir}", *targets],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert result.returncode == 0, (
        f"make {' '.join(targets)} failed:\n{result.stdout}{result.stderr}"
    )
    return result.stdout


def build_harness(build_dir: Path, cc: str, profile: str) -> Path:
    require_tool(cc)
    make(build_dir, "harness", f"CC={cc}", f"PROFILE={profile}")
    return build_dir / cc / profile / "harness"


@dataclass
class Script:
    """Commands for the harness; ``run`` returns its output lines."""

    lines: list[str] = field(default_factory=list)

    def add(self, *commands: str) -> Script:
        self.lines.extend(commands)
        return self

    def rx(self, data: bytes) -> Script:
        return self.add(f"rx {data.hex()}")

    def run(self, harness: Path, timeout_s: float = 120.0) -> list[str]:
        result = subprocess.run(
            [str(harness)],
            input="\n".join(self.lines) + "\n",
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        assert result.returncode == 0, f"harness failed ({result.returncode}): {result.stderr}"
        return result.stdout.splitlines()


def tagged(lines: list[str], tag: str) -> list[str]:
    """The values of the output lines that start with ``tag``, in order."""
    return [line[len(tag) + 1 :] for line in lines if line.split(" ", 1)[0] == tag]


def tx_bytes(lines: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in tagged(lines, "tx")]
