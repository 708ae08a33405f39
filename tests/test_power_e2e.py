"""Power states end to end: the daemon on the simulated glasses, the real Silero VAD listening
to a microphone stand-in that runs in real time, the wear sensor worked through the simulator's
API so its EVENT WORN crosses the link like a real one.

Taking the glasses off must put the simulated panel to sleep and stop audio processing: the
microphone is closed and the listen stage's count of handled chunks stops growing. Putting them
on must wake the panel showing the same screen, and captions must come again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.protocol.geometry import DisplayGeometry
from glasses.display.raster import Renderer
from glasses.display.views import CaptionView, LinkState, LlmSource, Mode, Screen, StatusBar
from glasses.perception.asr import Recognition
from glasses.power.board import BoardReader
from glasses.power.policy import PowerState
from glasses.runtime.daemon import Daemon
from glasses.runtime.daemon_thread import DaemonThread
from glasses.runtime.feeds import PushAudioSource
from glasses.runtime.parts import Parts
from glasses.settings import load_settings

pytest.importorskip("onnxruntime")
pytest.importorskip("hw_sim.launcher")
from perception_support.speech import phrase, silence

from hw_sim.launcher import SimulatorProcess

pytestmark = pytest.mark.model

PROFILE = "576x136x1"
WAIT_S = 20.0


class Heard:
    """Stand-in recogniser (no speech model can exist in CI): the next text for each utterance
    the real VAD finds."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)

    def recognize(self, samples: Any, sample_rate_hz: int = 16_000) -> Recognition:
        return Recognition(self.texts.pop(0), "en") if self.texts else Recognition("", "")


class Source(PushAudioSource):
    def __init__(self) -> None:
        super().__init__(realtime=True)  # silence between pushes, paced like a microphone
        self.closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


class Microphone:
    """Opens a fresh source each time, as a device is opened again after a pause."""

    def __init__(self) -> None:
        self.opened: list[Source] = []

    def __call__(self) -> Source:
        self.opened.append(Source())
        return self.opened[-1]


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    args = ("--pty", "--link", str(tmp_path / "tty"), "--web-port", "0", "--profile", PROFILE)
    with SimulatorProcess(*args, "-q", log_path=tmp_path / "sim.log") as process:
        yield process


def shown(sim: SimulatorProcess, renderer: Renderer, screen: Screen) -> bool:
    scale = 255 // renderer.geometry.max_level
    return np.array_equal(sim.screen(), renderer.render(screen).astype(np.uint8) * scale)


def test_taking_the_glasses_off_sleeps_the_panel_and_stops_listening(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    from glasses.perception.vad import SileroVad

    renderer = Renderer(DisplayGeometry(sim.info["width"], sim.info["height"], sim.info["bpp"]))
    overrides = [
        f"display.url={sim.url}",
        "modes.start=captions",
        "asr.partials=false",
        "power.dim_after_s=0",
        "power.sleep_after_s=0",  # only the wear sensor in this test
    ]
    mic = Microphone()
    parts = Parts(audio=mic, vad=SileroVad(), recognizer=Heard("next stop", "west lake"))
    daemon = Daemon(load_settings(overrides=overrides), parts, board=BoardReader(tmp_path))
    runner = DaemonThread(daemon).start(WAIT_S)
    status = StatusBar(mode=Mode.CAPTIONS, link=LinkState.CONNECTED, llm=LlmSource.NONE)
    listen = daemon.stages["listen"]
    try:
        mic.opened[-1].push(np.concatenate([phrase("Next stop"), silence(1.0)]))
        first = Screen(CaptionView(("next stop",)), status)
        sim.wait_state(lambda s: shown(sim, renderer, first), WAIT_S, "the first caption")

        assert sim.post("/api/event", {"kind": "worn", "worn": False})[0] == 200
        sim.wait_state(lambda s: s["sleeping"], WAIT_S, "the panel asleep")
        runner.wait_until(
            lambda d: d.power is not None and d.power.policy.state is PowerState.OFF_HEAD,
            WAIT_S,
            "the off-head state",
        )
        runner.wait_until(lambda d: d.idle(), WAIT_S, "the stream's end handled")
        handled = listen.handled
        assert len(mic.opened) == 1 and mic.opened[0].closed
        # A round trip through the glasses: a temperature event reaches the power stage only.
        assert sim.post("/api/event", {"kind": "temperature", "celsius": 31.5})[0] == 200
        runner.wait_until(
            lambda d: d.snapshot()["power"]["glasses_c"] == 31.5, WAIT_S, "the temperature"
        )
        snapshot = runner.call(daemon.snapshot)
        assert snapshot["stages"]["listen"] == handled  # no audio reached VAD or recogniser
        assert len(mic.opened) == 1  # the microphone stayed closed
        assert snapshot["power"]["state"] == "off_head" and snapshot["power"]["why"] == "taken off"
        assert snapshot["power"]["listening"] is False
        assert sim.state()["sleeping"] and shown(sim, renderer, first)

        assert sim.post("/api/event", {"kind": "worn", "worn": True})[0] == 200
        state = sim.wait_state(lambda s: not s["sleeping"], WAIT_S, "the panel awake")
        assert state["brightness"] == 255
        assert shown(sim, renderer, first)  # the last screen, back at once
        runner.wait_until(lambda d: len(mic.opened) == 2, WAIT_S, "the microphone reopened")
        runner.wait_until(lambda d: listen.handled > handled + 2, WAIT_S, "listening again")
        woke = runner.call(daemon.snapshot)["wake_up"]  # what scripts/bench_power.py times
        assert woke["put_on_at_s"] <= woke["microphone_opened_at_s"] <= woke["first_chunk_at_s"]
        assert sim.state()["last_wake_clock_s"] >= woke["put_on_at_s"]  # one clock: monotonic
        mic.opened[-1].push(np.concatenate([phrase("West Lake"), silence(1.0)]))
        second = Screen(CaptionView(("next stop", "west lake")), status)
        sim.wait_state(lambda s: shown(sim, renderer, second), WAIT_S, "captions again")
    finally:
        runner.stop()
