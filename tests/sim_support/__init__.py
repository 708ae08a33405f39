"""Helpers of the tests that drive the simulated display MCU as pure code (no clock, no
port): a :class:`~hw_sim.minihost.MiniHost` and a :class:`~hw_sim.device.DisplayDevice`
passing bytes back and forth."""

from __future__ import annotations

from firmware_bridge.protocol import messages as m
from hw_sim.device import DisplayDevice
from hw_sim.minihost import MiniHost


def exchange(host: MiniHost, dev: DisplayDevice, now_s: float, rounds: int = 20) -> list[m.Message]:
    """Move bytes both ways until both sides are quiet; returns what the host received."""
    got: list[m.Message] = []
    for _ in range(rounds):
        to_dev = host.poll(now_s)
        if to_dev:
            dev.receive_bytes(to_dev, now_s)
        to_host = dev.poll(now_s)
        if to_host:
            got += host.feed(to_host, now_s)
        if not to_dev and not to_host:
            break
    return got


def session(dev: DisplayDevice, now_s: float = 0.0) -> MiniHost:
    """A host that has read ``dev``'s boot announcement and opened a session with HELLO."""
    host = MiniHost()
    host.feed(dev.poll(now_s), now_s)  # boot announcement
    host.hello()
    exchange(host, dev, now_s)
    assert host.hello_ack is not None
    return host
