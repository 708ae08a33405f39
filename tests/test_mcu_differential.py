"""Differential test: the C device library and the Python simulator's device, fed the same
random byte streams (frames from firmware_bridge's encoder, mutated and cut; see
mcu_support.streams), send the same bytes after every chunk and end with the same frame
buffers, byte for byte. The clock is fixed in both (retransmission timing is tested apart).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mcu_support import PROFILES, Script, build_harness, tagged, tx_bytes
from mcu_support.streams import Step, StreamMaker

from firmware_bridge.protocol.pixels import pack
from hw_sim.device import DisplayDevice
from hw_sim.profiles import PROFILES as SIM_PROFILES

pytestmark = pytest.mark.process

NOW_S = 1.0  # the fixed clock: 1000 ms after boot in both
STREAMS_PER_PROFILE = 40
FRAMES_PER_STREAM = 60


@pytest.fixture(scope="module", params=PROFILES)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    profile = str(request.param)
    return profile, build_harness(tmp_path_factory.mktemp("mcu"), "gcc", profile)


def python_replies(profile: str, steps: list[Step]) -> tuple[list[bytes], DisplayDevice]:
    device = DisplayDevice(SIM_PROFILES[profile], 0.0)
    replies = [device.poll(0.0)]
    for step in steps:
        if step.event is not None:
            device.send_event(*step.event, NOW_S)
        elif step.log is not None:
            device.send_log(step.log[0], step.log[1].decode(), NOW_S)
        else:
            device.receive_bytes(step.rx, NOW_S)
        replies.append(device.poll(NOW_S))
    return replies, device


def c_script(steps: list[Step]) -> Script:
    s = Script().add("t 0", "init 0", "out", f"t {int(NOW_S * 1000)}")
    for step in steps:
        if step.event is not None:
            s.add("event {} {} {}".format(*step.event))
        elif step.log is not None:
            s.add(f"log {step.log[0]} {step.log[1].hex()}")
        else:
            s.rx(step.rx)
        s.add("poll")
    return s.add("dump", "state")


def test_same_replies_and_frame_buffers(built: tuple[str, Path]) -> None:
    profile, harness = built
    bpp = SIM_PROFILES[profile].bpp
    for seed in range(STREAMS_PER_PROFILE):
        steps = StreamMaker(SIM_PROFILES[profile], seed).steps(FRAMES_PER_STREAM)
        expected, device = python_replies(profile, steps)
        out = c_script(steps).run(harness)
        got = tx_bytes(out)
        assert len(got) == len(expected)
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            step = steps[i - 1] if i else None
            assert g == e, (
                f"{profile} seed {seed} step {i} ({step}): C sent {g.hex()}, Python {e.hex()}"
            )
        assert bytes.fromhex(tagged(out, "back")[0]) == pack(device.back, bpp), (profile, seed)
        assert bytes.fromhex(tagged(out, "front")[0]) == pack(device.front, bpp), (profile, seed)
        state = tagged(out, "state")[0]
        assert f"session={int(device.session)} " in state, (profile, seed, state)
        assert f"brightness={device.brightness} " in state and (
            f"sleeping={int(device.sleeping)} " in state
        ), (profile, seed, state)


def test_streams_reach_the_interesting_paths(built: tuple[str, Path]) -> None:
    """The random streams are not all rejected at the framing: they draw, err and resync."""
    profile, _ = built
    totals: dict[str, int] = {}
    for seed in range(STREAMS_PER_PROFILE):
        steps = StreamMaker(SIM_PROFILES[profile], seed).steps(FRAMES_PER_STREAM)
        _, device = python_replies(profile, steps)
        for key, value in device.counters().items():
            totals[key] = totals.get(key, 0) + (value or 0)
    assert totals["blits"] > 120 and totals["presents"] > 50, totals
    assert totals["errors_sent"] > 50 and totals["naks_sent"] > 20, totals
    assert totals["crc_errors"] > 5 and totals["malformed"] > 5 and totals["overflows"] > 0, totals
