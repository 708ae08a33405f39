"""Fault injection and wire pacing of the simulator: seeded, pure, time as data; and the
link protocol recovering through the faults."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from firmware_bridge.protocol import messages as m
from hw_sim.device import DisplayDevice
from hw_sim.faults import ByteFaults, FaultSettings, LinkFaults, WireFaults
from hw_sim.minihost import MiniHost, blit
from hw_sim.profiles import get_profile
from hw_sim.wire import Pacer

pytestmark = pytest.mark.fast

DATA = bytes(np.random.default_rng(7).integers(0, 256, 100_000, dtype=np.uint8))


def faults(
    drop: float = 0.0, flip: float = 0.0, latency_ms: float = 0.0, seed: int = 1
) -> ByteFaults:
    return ByteFaults(WireFaults(drop, flip, latency_ms), np.random.default_rng(seed))


def test_no_faults_is_the_identity() -> None:
    f = faults()
    f.push(DATA, 0.0)
    assert f.pop_due(0.0) == DATA
    assert f.stats.bytes_dropped == f.stats.bytes_flipped == 0


def test_drop_rate_is_roughly_honoured() -> None:
    f = faults(drop=0.1)
    f.push(DATA, 0.0)
    out = f.pop_due(0.0)
    assert 0.09 < 1 - len(out) / len(DATA) < 0.11
    assert f.stats.bytes_dropped == len(DATA) - len(out)


def test_flip_rate_is_roughly_honoured_one_bit_per_byte() -> None:
    f = faults(flip=0.02)
    f.push(DATA, 0.0)
    out = np.frombuffer(f.pop_due(0.0), dtype=np.uint8)
    diff = out ^ np.frombuffer(DATA, dtype=np.uint8)
    changed = diff[diff != 0]
    assert 0.017 < len(changed) / len(DATA) < 0.023
    assert len(changed) == f.stats.bytes_flipped
    assert set(changed.tolist()) == {
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
    }  # every bit position, one at a time


def test_same_seed_same_faults_however_the_stream_is_cut() -> None:
    whole = faults(drop=0.05, flip=0.05, seed=42)
    whole.push(DATA, 0.0)
    pieces = faults(drop=0.05, flip=0.05, seed=42)
    for i in range(0, len(DATA), 777):
        pieces.push(DATA[i : i + 777], 0.0)
    other = faults(drop=0.05, flip=0.05, seed=43)
    other.push(DATA, 0.0)
    expected = whole.pop_due(0.0)
    assert pieces.pop_due(0.0) == expected
    assert other.pop_due(0.0) != expected


def test_link_faults_seeds_both_directions_reproducibly() -> None:
    settings = FaultSettings.both_ways(drop_rate=0.2)
    a, b = LinkFaults(settings, seed=5), LinkFaults(settings, seed=5)
    for link in (a, b):
        link.to_device.push(DATA[:1000], 0.0)
        link.to_host.push(DATA[:1000], 0.0)
    assert a.to_device.pop_due(0.0) == b.to_device.pop_due(0.0)
    assert a.to_host.pop_due(0.0) == b.to_host.pop_due(0.0)
    assert a.stats()["to_device"]["bytes_in"] == 1000


def test_latency_delays_and_never_reorders() -> None:
    f = faults(latency_ms=50)
    f.push(b"first", 1.0)
    assert f.pop_due(1.049) == b"" and f.next_due_s == pytest.approx(1.05)
    f.faults = WireFaults(latency_ms=0)
    f.push(b"second", 1.01)  # would overtake "first" without the ordering rule
    assert f.pop_due(1.02) == b""
    assert f.pop_due(1.05) == b"firstsecond"


def test_in_flight_bytes_are_bounded() -> None:
    f = ByteFaults(WireFaults(latency_ms=1000), np.random.default_rng(0), max_in_flight_bytes=1000)
    for _ in range(5):
        f.push(bytes(400), 0.0)
    assert f.stats.bytes_overflowed == 1200
    assert len(f.pop_due(2.0)) == 800


def test_clear_forgets_bytes_in_flight() -> None:
    f = faults(latency_ms=10)
    f.push(b"lost", 0.0)
    f.clear()
    assert f.pop_due(1.0) == b""


@pytest.mark.parametrize(
    "kwargs",
    [
        {"drop_rate": -0.1},
        {"flip_rate": 1.5},
        {"drop_rate": 0.6, "flip_rate": 0.6},
        {"latency_ms": -1},
        {"latency_ms": float("nan")},
        {"latency_ms": float("inf")},
        {"latency_ms": 1e12},
        {"drop_rate": float("nan")},
    ],
)
def test_bad_wire_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        WireFaults(**kwargs)


@pytest.mark.parametrize("slow_ms", [-5, float("nan"), float("inf"), 1e12])
def test_bad_slow_ms_is_refused(slow_ms: float) -> None:
    with pytest.raises(ValueError):
        FaultSettings(slow_ms=slow_ms)


def test_pacer_moves_baud_over_ten_bytes_per_second() -> None:
    pacer = Pacer(9600, burst_s=0.01)  # 960 bytes/s, bursts of 9
    now, sent = 0.0, 0
    while now < 1.0:
        n = pacer.allowance(now)
        pacer.consume(n, now)
        sent += n
        now += 0.001
    assert 950 <= sent <= 970
    assert pacer.total_bytes == sent


def test_pacer_does_not_save_up_idle_time() -> None:
    pacer = Pacer(921_600, burst_s=0.002)
    assert pacer.allowance(100.0) == 184  # after a long idle period: one burst, no more
    pacer.consume(184, 100.0)
    assert pacer.allowance(100.0) == 0
    assert pacer.ready_s(100.0) == pytest.approx(100.0 + 1 / 92_160)
    assert pacer.wire_time_s(92_160) == pytest.approx(1.0)


def test_link_protocol_recovers_through_a_lossy_wire() -> None:
    dev = DisplayDevice(get_profile("128x64x1"))
    host = MiniHost(max_payload=1024, window=2)
    link = LinkFaults(FaultSettings(), seed=11)
    t = 0.0

    def run(until: Callable[[], bool], max_s: float) -> None:
        nonlocal t
        end = t + max_s
        while t < end and not until():
            t += 0.002
            link.to_device.push(host.poll(t), t)
            dev.receive_bytes(link.to_device.pop_due(t), t)
            link.to_host.push(dev.poll(t), t)
            host.feed(link.to_host.pop_due(t), t)

    host.hello()
    run(lambda: host.hello_ack is not None, 1.0)
    link.apply(FaultSettings.both_ways(drop_rate=0.002, flip_rate=0.002, latency_ms=3))
    levels = np.random.default_rng(2).integers(0, 2, (64, 128), dtype=np.uint8)
    for y in range(0, 64, 8):
        host.send(blit(levels[y : y + 8], 0, y, 1))
    host.send(m.Present(1))
    run(lambda: host.arq.idle and dev.stats.presents == 1, 120.0)
    assert np.array_equal(dev.front, levels)
    assert dev.counters()["crc_errors"] or dev.counters()["malformed"]  # faults did happen
    assert host.arq.stats.retransmits > 0
