"""The C device library builds warning-free (-Wall -Wextra -Werror -std=c99 -pedantic) for
every profile with gcc, clang and arm-none-eabi-gcc, and fits the RAM of the parts it is for."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcu_support import COMPILERS, PROFILES, Script, build_harness, make, require_tool, tagged

from hw_sim.profiles import PROFILES as SIM_PROFILES

pytestmark = pytest.mark.process


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("cc", COMPILERS)
def test_native_build_matches_the_simulator_profile(
    cc: str, profile: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    harness = build_harness(tmp_path_factory.mktemp("mcu"), cc, profile)
    got = tagged(Script().add("profile").run(harness), "profile")
    p = SIM_PROFILES[profile]
    name, width, height, bpp, max_payload, window, _ = got[0].split()
    assert (name, int(width), int(height), int(bpp)) == (profile, p.width_px, p.height_px, p.bpp)
    assert (int(max_payload), int(window)) == (p.max_payload, p.window)


def test_arm_sizes_fit_the_parts(tmp_path: Path) -> None:
    require_tool("arm-none-eabi-gcc")
    out = make(tmp_path, "size")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    assert set(rows) == set(PROFILES), out
    for profile, row in rows.items():
        assert row[-1] == "ok", f"{profile} over its budget:\n{out}"
        ram = int(row[4])
        # The frame buffers dominate: one for 640x400x4 (the panel holds the front), two else.
        p = SIM_PROFILES[profile]
        fb = p.width_px * p.height_px * p.bpp // 8
        assert fb <= ram < (fb if profile == "640x400x4" else 2 * fb) + 16 * 1024, out
