"""DisplayLink against the simulator process (``glasses-sim display --pty``) over a real pty.

Checks what the simulated panel shows through its web API. Skipped when the simulator is
not available in this tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from process_support import wait_for

from firmware_bridge.compositor import Compositor
from firmware_bridge.config import LinkConfig
from firmware_bridge.link import DisplayLink
from firmware_bridge.stats import LinkState

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 15.0

pytest.importorskip("hw_sim.cli")
pytest.importorskip("PIL.Image")
from hw_sim.launcher import SimulatorProcess, SimulatorStartError  # noqa: E402


class Simulator(SimulatorProcess):
    """The simulator on a pty at ``tmp_path/tty`` with its web API on a free port; a
    simulator that does not start skips the test."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        try:
            where = ("--pty", "--link", str(tmp_path / "tty"), "--web-port", "0", "-q")
            super().__init__(*where, *args, cwd=ROOT)
        except SimulatorStartError as exc:
            pytest.skip(f"the simulator did not start: {exc}")

    def post_ok(self, path: str, body: dict[str, object]) -> None:
        """POST to the control API; anything but 200 fails the test."""
        status, reply = self.post(path, body)
        assert status == 200, f"POST {path} {body}: HTTP {status} {reply}"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulator]:
    with Simulator(tmp_path, "--profile", "128x64x1") as simulator:
        yield simulator


def test_show_survives_unplug_and_reboot(sim: Simulator) -> None:
    states: list[LinkState] = []
    config = LinkConfig(url=sim.info["url"], reconnect_backoff_max_s=0.2)
    with DisplayLink(config, Compositor.for_device, on_state=states.append) as link:
        info = link.wait_connected(WAIT_S)
        assert (info.board_id, info.width_px, info.height_px, info.bpp) == (
            sim.info["board_id"],
            128,
            64,
            1,
        )
        rng = np.random.default_rng(11)
        screen = (rng.random((64, 128)) < 0.2).astype(np.uint8)
        link.show(screen)
        assert link.wait_presented(WAIT_S)
        wait_for(
            lambda: np.array_equal(sim.screen(), screen * 255),
            "the screen on the simulator",
        )

        sim.post_ok("/api/unplug", {"duration_s": 0.3})
        wait_for(lambda: LinkState.LOST in states, "the link to be lost")
        wait_for(lambda: link.state is LinkState.CONNECTED, "the link to reconnect")
        sim.post_ok("/api/reboot", {})  # the panel comes back blank; the link must redraw it
        wait_for(lambda: link.stats.reconnects >= 2, "two reconnects")
        wait_for(
            lambda: np.array_equal(sim.screen(), screen * 255),
            "the screen on the simulator",
        )
        assert link.stats.errors_from_device == 0
