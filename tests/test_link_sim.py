"""DisplayLink against the simulator process (``glasses-sim display --pty``) over a real pty.

Checks what the simulated panel shows through its web API. Skipped when the simulator is
not available in this tree.
"""

from __future__ import annotations

import io
import json
import select
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.config import LinkConfig
from firmware_bridge.link import DisplayLink
from firmware_bridge.stats import LinkState
from glasses.display.compositor import Compositor

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 15.0

pytest.importorskip("hw_sim.cli")
Image = pytest.importorskip("PIL.Image")


class Simulator:
    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hw_sim.cli", "display", "--pty", "--link",
             str(tmp_path / "tty"), "--web-port", "0", "-q", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        )  # fmt: skip
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.close()
            pytest.skip(f"the simulator did not start: {line!r}")
        self.info: dict[str, Any] = json.loads(line[len("READY ") :])

    def post(self, path: str, body: dict[str, object]) -> None:
        req = urllib.request.Request(
            self.info["web"] + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=5):
            pass

    def screen(self) -> np.ndarray:
        with urllib.request.urlopen(self.info["web"] + "/screen.png", timeout=5) as reply:
            return np.asarray(Image.open(io.BytesIO(reply.read())))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulator]:
    simulator = Simulator(tmp_path, "--profile", "128x64x1")
    yield simulator
    simulator.close()


def wait_until(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    done = threading.Event()
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        done.wait(0.02)  # polling an external process: nothing to wait on
    return True


def test_show_survives_unplug_and_reboot(sim: Simulator) -> None:
    states: list[LinkState] = []
    config = LinkConfig(url=sim.info["url"], reconnect_backoff_max_s=0.2)
    with DisplayLink(config, Compositor.for_device, on_state=states.append) as link:
        info = link.wait_connected(WAIT_S)
        assert (info.board_id, info.width_px, info.height_px, info.bpp) == (
            sim.info["board_id"], 128, 64, 1,
        )  # fmt: skip
        rng = np.random.default_rng(11)
        screen = (rng.random((64, 128)) < 0.2).astype(np.uint8)
        link.show(screen)
        assert link.wait_presented(WAIT_S)
        assert wait_until(lambda: np.array_equal(sim.screen(), screen * 255))

        sim.post("/api/unplug", {"duration_s": 0.3})
        assert wait_until(lambda: LinkState.LOST in states)
        assert wait_until(lambda: link.state is LinkState.CONNECTED)
        sim.post("/api/reboot", {})  # the panel comes back blank; the link must redraw it
        assert wait_until(lambda: link.stats.reconnects >= 2)
        assert wait_until(lambda: np.array_equal(sim.screen(), screen * 255))
        assert link.stats.errors_from_device == 0
