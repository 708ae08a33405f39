"""The simulator's I/O loop in-process, on a TCP port, with a fake clock (no sleeps)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.messages import EventKind, Reason
from hw_sim.events import ResetCause
from hw_sim.faults import FaultSettings
from hw_sim.minihost import MiniHost, blit
from hw_sim.profiles import get_profile
from hw_sim.script import Reboot, Step, parse_script
from hw_sim.server import SimConfig, Simulator

pytestmark = pytest.mark.network

PROFILE = get_profile("128x64x1")


class Bench:
    """A simulator with a fake clock, a connected socket and a MiniHost."""

    def __init__(self, **config: object) -> None:
        self.t = 100.0
        self.sim = Simulator(SimConfig(PROFILE, tcp_port=0, **config), clock=lambda: self.t)  # type: ignore[arg-type]
        self.host = MiniHost(max_payload=1024, window=PROFILE.window)
        self.sock = self.connect()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.sim.port.port), timeout=2)  # type: ignore[attr-defined]
        sock.setblocking(False)
        self.step()
        return sock

    @property
    def now(self) -> float:
        return self.sim.now_s()

    def step(self, dt_s: float = 0.001) -> None:
        self.t += dt_s
        self.sim.step()

    def run(self, until: Callable[[], bool], max_s: float = 2.0, dt_s: float = 0.001) -> None:
        for _ in range(int(max_s / dt_s)):
            out = self.host.poll(self.now)
            if out:
                self.sock.sendall(out)
            self.step(dt_s)
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                data = b""
            if data:
                self.host.feed(data, self.now)
            if until():
                return
        raise AssertionError("condition not reached in simulated time")

    def hello(self) -> None:
        self.host.hello()
        self.run(lambda: self.host.hello_ack is not None)


@pytest.fixture
def bench_factory() -> Iterator[Callable[..., Bench]]:
    benches: list[Bench] = []

    def make(**config: object) -> Bench:
        benches.append(Bench(**config))
        return benches[-1]

    yield make
    for b in benches:
        b.sock.close()
        b.sim.close()


def test_draw_over_tcp(bench_factory: Callable[..., Bench]) -> None:
    bench = bench_factory()
    bench.hello()
    levels = (np.arange(64 * 128).reshape(64, 128) % 3 == 0).astype(np.uint8)
    for y in range(0, 64, 8):
        bench.host.send(blit(levels[y : y + 8], 0, y, 1, m.Encoding.PACKBITS))
    bench.host.send(m.Present(3))
    bench.run(lambda: bench.host.arq.idle)
    assert np.array_equal(bench.sim.device.fb.front, levels)
    front, _ = bench.sim.shared.screen()
    assert front is not None and np.array_equal(front, levels)
    assert bench.sim.shared.state()["frame_id"] == 3


def test_host_to_device_bytes_are_paced_to_the_baud_rate(
    bench_factory: Callable[..., Bench],
) -> None:
    bench = bench_factory(baud=9600)  # 960 bytes/s
    bench.sock.sendall(bytes(5000))  # idle fill: the device ignores it
    for _ in range(500):
        bench.step()
    assert 470 <= bench.sim.stats.rx_bytes <= 490  # half a second of wire time


def test_scripted_event_and_reboot(bench_factory: Callable[..., Bench]) -> None:
    steps = (*parse_script("0.5 button double; 0.6 log info hello"), Step(1.0, 9, Reboot()))
    bench = bench_factory(steps=steps)
    bench.hello()
    bench.run(lambda: any(isinstance(x, m.Log) for x in bench.host.received))
    events = [x for x in bench.host.received if isinstance(x, m.Event)]
    assert [(e.kind, e.value) for e in events] == [
        (EventKind.BOOT, 0),
        (EventKind.BUTTON, m.ButtonAction.DOUBLE_PRESS),
    ]
    assert abs(events[1].uptime_ms - 500) <= 5
    bench.host.received.clear()  # it holds the power-on announcement
    bench.run(lambda: m.Nak(0, Reason.NO_SESSION) in bench.host.received)
    assert bench.sim.device.reset_cause == ResetCause.WATCHDOG and not bench.sim.device.session


def test_unplug_drops_the_host_refuses_then_reboots(bench_factory: Callable[..., Bench]) -> None:
    bench = bench_factory()
    bench.hello()
    port = bench.sim.port.port  # type: ignore[attr-defined]
    bench.sim.unplug(bench.now, 0.2)
    assert bench.sock.recv(100) == b""  # the connection was closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    assert not bench.sim.device.powered
    bench.step(0.25)
    bench.sock = bench.connect()
    bench.host = MiniHost(max_payload=1024)
    bench.hello()
    assert bench.sim.device.stats.boots == 2 and bench.sim.stats.unplugs == 1


def test_every_present_is_saved_and_only_the_newest_kept(
    bench_factory: Callable[..., Bench], tmp_path: Path
) -> None:
    bench = bench_factory(save_dir=tmp_path, keep=2)
    bench.hello()
    for frame_id in (1, 2, 3):
        bench.host.send(m.Clear(frame_id % 2))
        bench.host.send(m.Present(frame_id))
        bench.run(lambda: bench.host.arq.idle)
    saver = bench.sim.saver
    assert saver is not None
    saver.close()  # waits for the queue to drain
    assert saver.saved == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "frame-000002-00000002.png",
        "frame-000003-00000003.png",
    ]


def test_latency_and_slow_device_delay_the_answer(bench_factory: Callable[..., Bench]) -> None:
    bench = bench_factory(faults=FaultSettings.both_ways(latency_ms=50, slow_ms=20))
    start = bench.now
    bench.hello()
    assert bench.now - start >= 0.05 + 0.02 + 0.05  # there, processing, back
    assert bench.sim.device.processing_s == pytest.approx(0.02)
    bench.sim.set_faults(FaultSettings())
    assert bench.sim.device.processing_s == 0
    assert bench.sim.state_dict(bench.now)["faults"] == FaultSettings().as_dict()


def test_the_state_says_when_the_panel_last_woke_and_presented(
    bench_factory: Callable[..., Bench],
) -> None:
    bench = bench_factory()
    state = bench.sim.state_dict(bench.now)
    assert state["last_wake_clock_s"] is None and state["last_present_clock_s"] is None
    bench.hello()
    bench.host.send(m.Sleep())
    bench.run(lambda: bench.host.arq.idle)
    asleep = bench.sim.state_dict(bench.now)
    assert asleep["sleeping"] and asleep["last_wake_clock_s"] is None  # SLEEP is not a wake
    bench.host.send(m.Present(4))
    bench.host.send(m.Wake())
    sent_at = bench.t  # the fake clock, which the timestamps are on
    bench.run(lambda: bench.host.arq.idle)
    state = bench.sim.state_dict(bench.now)
    assert not state["sleeping"]
    for key in ("last_wake_clock_s", "last_present_clock_s"):
        assert sent_at <= state[key] <= bench.t, key  # type: ignore[operator]
