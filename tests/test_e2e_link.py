"""End to end over a faulty wire: host DisplayLink -> real pty -> the glasses, on both devices:
``glasses-sim display`` (the Python simulator) and ``glasses-sim firmware`` (the C reference
firmware under qemu-system-arm, behind hw_sim.fault_relay: the same fault model on its UART).

The host streams 50 live-caption screens (real Renderer, CaptionView + StatusBar) while the
wire loses and corrupts bytes both ways and the cable is pulled and plugged back in half way
through; the panel must end up showing the host's last screen pixel for pixel (the firmware's
panel memory read through QEMU's monitor). The firmware case is skipped, with the reason, where
qemu-system-arm or the ARM toolchain is missing.

Everything waits by polling against deadlines; the only pacing is ``wait_presented`` with a
short timeout, which returns as soon as the screen is shown (like captions that follow speech
and never wait for the link).

On the issue's wire (1% of the bytes lost, 0.1% bit-flipped, both ways) the link shrinks its
frames until they get through (FrameSizeGovernor), repeats NAKs for frames lost again and
drops its timeout backoff as soon as frames are acknowledged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from firmware_bridge.compositor import Compositor
from firmware_bridge.config import LinkConfig
from firmware_bridge.link import DisplayLink
from firmware_bridge.protocol.geometry import DisplayGeometry
from firmware_bridge.stats import LinkState
from glasses.display.raster import Renderer
from glasses.display.views import CaptionView, Screen, StatusBar
from glasses.display.views import LinkState as ShownLinkState
from hw_sim.launcher import SimulatorProcess
from hw_sim.qemu_device import build_firmware, missing_tools

pytestmark = pytest.mark.process

Levels = npt.NDArray[np.uint8]

UPDATES = 50
UNPLUG_AFTER = 25  # updates sent before the cable is pulled
UNPLUG_S = 0.3
PACE_S = 0.15  # longest wait for one caption screen before the next one replaces it
WAIT_S = 60.0  # generous: the machine is shared and the wire is bad

# Live captions as a recogniser produces them: a partial hypothesis growing word by word,
# committed as a final segment every few words; Chinese and English mixed.
SPOKEN = (
    "下一站 West Lake 西湖 请 在 前门 下车 Please exit by the front door 谢谢 Thank you for "
    "riding Metro Line 1 换乘 Longxiangqiao 站"
)
WORDS = tuple(SPOKEN.split())


def caption_screens(count: int) -> Iterator[Screen]:
    """``count`` successive caption screens: every 4th update commits the partial text."""
    view = CaptionView(max_lines=3)
    partial: list[str] = []
    for i in range(count):
        partial.append(WORDS[i % len(WORDS)])
        text = " ".join(partial)
        if i % 4 == 3:
            view, partial = view.with_final(text), []
        else:
            view = view.with_partial(text)
        status = StatusBar(link=ShownLinkState.CONNECTED, battery_percent=90 - i // 10)
        yield Screen(view, status)


def as_grey(levels: Levels, bpp: int) -> Levels:
    """What the simulator's /screen.png holds for ``levels``: level * 255 // max level."""
    top = (1 << bpp) - 1
    grey: Levels = (levels.astype(np.uint16) * 255 // top).astype(np.uint8)
    return grey


def wait_for_screen(sim: SimulatorProcess, expected: Levels, timeout_s: float) -> None:
    """Poll /screen.png until it equals ``expected`` (8-bit grey)."""
    deadline = time.monotonic() + timeout_s
    while not np.array_equal(shown := sim.screen(), expected):
        if time.monotonic() > deadline:
            wrong = np.argwhere(shown != expected) if shown.shape == expected.shape else []
            raise AssertionError(
                f"the panel ({shown.shape}) still differs from the last screen "
                f"({expected.shape}) after {timeout_s:g} s: {len(wrong)} pixels, e.g. (y, x) "
                f"{[(int(y), int(x)) for y, x in wrong[:5]]}"
            )
        time.sleep(0.02)  # polling another process: nothing to wait on


@dataclass(frozen=True)
class Wire:
    profile: str
    drop_rate: float
    flip_rate: float
    seed: int


CASES = [
    # The wire: 1% of the bytes lost and 0.1% bit-flipped, both ways. The link finds
    # out how large frames may be on such a wire (FrameSizeGovernor) by itself.
    pytest.param(Wire("128x64x1", 0.01, 0.001, seed=1), id="128x64x1-drop1%-flip0.1%"),
    # The 4 bpp prototype panel: its full screens are ~100x larger, and go-back-N over the
    # small frames that get through moves only about 1 kB/s at 1% loss (a full screen takes
    # tens of seconds; scripts/bench_link_noisy.py); at half that loss it takes seconds.
    pytest.param(Wire("640x400x4", 0.005, 0.0005, seed=2), id="640x400x4-drop0.5%-flip0.05%"),
]


@pytest.fixture(params=["display", "firmware"])
def start(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., SimulatorProcess]]:
    """``start(profile, *args)``: the simulator, or the firmware under QEMU (built first), on
    ``tmp_path/tty`` with its web API on a free port; stopped at teardown."""
    kind = str(request.param)
    if kind == "firmware" and (missing := missing_tools()):
        pytest.skip(f"{', '.join(missing)} not installed (scripts/setup.sh --test installs them)")
    started: list[SimulatorProcess] = []

    def run(profile: str, *args: str) -> SimulatorProcess:
        where = ["--pty", "--link", str(tmp_path / "tty"), "--web-port", "0", "--profile", profile]
        if kind == "firmware":
            where += ["--elf", str(build_firmware(profile)), "--relay"]  # faults, unplugs
        log = tmp_path / f"{kind}.log"
        started.append(SimulatorProcess(*where, *args, log_path=log, command=kind))
        return started[-1]

    yield run
    for device in started:
        device.stop()


@pytest.mark.parametrize("wire", CASES)
def test_captions_survive_loss_bit_flips_and_unplug(
    start: Callable[..., SimulatorProcess], wire: Wire, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["start"] == "firmware" and wire.profile == "640x400x4":
        # The relay in front of QEMU takes whatever the host writes at once, where a UART
        # would make the host's writes wait: with this panel's 3.9 kB frames the host's
        # retransmit timers fire before QEMU's ~16 kB/s UART has read the frames, and the
        # resends pile up behind them. Until the relay paces like a UART, the firmware is
        # put through the faulty wire on the small panel only.
        pytest.skip("the fault relay has no UART backpressure for 640x400x4's large frames")
    faults = ["--drop-rate", str(wire.drop_rate), "--flip-rate", str(wire.flip_rate)]
    sim = start(wire.profile, *faults, "--seed", str(wire.seed), "-q")
    factory = Compositor.for_device
    states: list[LinkState] = []
    # Quick retries: a lost HELLO or HELLO_ACK (up to a third of them here) costs 0.1..0.5 s.
    config = LinkConfig(
        url=sim.url, reconnect_backoff_max_s=0.2, hello_timeout_s=0.1, hello_retry_max_s=0.5
    )
    with DisplayLink(config, factory, on_state=states.append) as link:
        info = link.wait_connected(WAIT_S)
        geometry = DisplayGeometry(info.width_px, info.height_px, info.bpp)
        assert (geometry.width_px, geometry.height_px, geometry.bpp) == (
            sim.info["width"],
            sim.info["height"],
            sim.info["bpp"],
        )
        renderer = Renderer(geometry)
        acked_before_unplug = 0
        levels: Levels | None = None
        for i, screen in enumerate(caption_screens(UPDATES)):
            levels = renderer.render(screen)
            link.show(levels)
            if i + 1 == UNPLUG_AFTER:
                # Pull the cable once a screen has got through: at 1 % loss the frame-size
                # governor may restart the session a few times first (each restart resends a
                # whole screen), which on some byte sequences takes longer than the paced
                # updates before the unplug.
                assert link.wait_presented(WAIT_S), f"no screen before the unplug: {link.stats}"
                acked_before_unplug = link.stats.presents_acked
                status, reply = sim.post("/api/unplug", {"duration_s": UNPLUG_S})
                assert status == 200, reply
            link.wait_presented(PACE_S)
        assert levels is not None
        assert link.wait_presented(WAIT_S), f"last screen not confirmed: {link.stats}"
        expected = as_grey(levels, geometry.bpp)
        wait_for_screen(sim, expected, 10.0)
        stats = link.stats

    # The faults really happened (lost and corrupted bytes) and the ARQ recovered from them.
    assert stats.retransmits > 0, stats
    faults = sim.state()["stats"]["faults"]
    wires = (faults["to_device"], faults["to_host"])
    assert sum(w["bytes_dropped"] for w in wires) > 0, faults
    assert sum(w["bytes_flipped"] for w in wires) > 0, faults
    # ... and the unplug: the port vanished, the host reconnected to a freshly booted device.
    assert LinkState.LOST in states and stats.reconnects >= 1, (states, stats)
    state = sim.state()
    assert state["stats"]["link"]["unplugs"] == 1 and state["stats"]["device"]["boots"] == 2
    # Screens went across before the unplug and after it, not only the last one.
    assert acked_before_unplug >= 1 and stats.presents_acked >= acked_before_unplug + 2, stats
