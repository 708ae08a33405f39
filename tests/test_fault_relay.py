"""The fault relay alone (hw_sim/fault_relay.py), between real ptys: a pty pair stands for QEMU's
UART (the test holds its master, as QEMU does), the host opens the relay's ``--link``. Time is
data: every turn is ``relay.step(now_s)`` with ``now_s`` chosen here; the only waiting is on the
ptys' descriptors. The firmware behind it: tests/test_e2e_link.py."""

from __future__ import annotations

import contextlib
import os
import select
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hw_sim.fault_relay import FaultRelay
from hw_sim.faults import FaultSettings, LinkFaults, WireFaults

pytestmark = pytest.mark.fast

DEADLINE_S = 10.0  # how long the kernel may take to move a few kB between ptys: generous


class Rig:
    """The board's end of the wire (``board``: QEMU's master), the relay, and the host's end."""

    def __init__(self, tmp_path: Path, **relay_args: Any) -> None:
        self.board, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(self.board, False)
        self.link = tmp_path / "tty"
        self.replugs: list[bool] = []  # whether the host's port was there at each board reset
        self.relay = FaultRelay(
            os.ttyname(slave), link=self.link, on_replug=self._reset, **relay_args
        )
        os.close(slave)  # the relay holds its own
        self.host = self.open_host()
        self.from_board, self.from_host = bytearray(), bytearray()

    def _reset(self) -> None:
        self.replugs.append(self.relay.port.plugged)

    def open_host(self) -> int:
        fd = os.open(self.link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd)
        return fd

    def pump(self, now_s: float, until: Callable[[], bool], what: str, host: bool = True) -> None:
        """Turn the relay at ``now_s``, collecting what reaches the board (and the host, unless
        ``host`` is False: a host that reads nothing), until ``until()``."""
        deadline = time.monotonic() + DEADLINE_S
        ends = ((self.board, self.from_host), (self.host, self.from_board))
        while True:
            self.relay.step(now_s)
            for fd, into in ends if host else ends[:1]:
                with contextlib.suppress(OSError):  # nothing there yet (EAGAIN)
                    into += os.read(fd, 65536)
            if until():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {DEADLINE_S:g} s: {self.relay.state()}")
            reads, writes = self.relay.fds()
            select.select([*reads, self.board, self.host][: None if host else -1], writes, [], 0.05)

    def close(self) -> None:
        self.relay.close()
        for fd in (self.board, self.host):
            os.close(fd)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(**relay_args: Any) -> Rig:
        made.append(Rig(tmp_path, **relay_args))
        return made[-1]

    yield make
    for r in made:
        r.close()


DATA = bytes(np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8))


def test_a_clean_wire_carries_every_byte_both_ways(rig: Callable[..., Rig]) -> None:
    r = rig()
    os.write(r.host, DATA)
    os.write(r.board, DATA[::-1])
    r.pump(0.0, lambda: len(r.from_host) >= 3000 and len(r.from_board) >= 3000, "bytes")
    assert bytes(r.from_host) == DATA and bytes(r.from_board) == DATA[::-1]
    stats = r.relay.stats
    assert (stats.rx_bytes, stats.tx_bytes, stats.tx_dropped_bytes) == (3000, 3000, 0)


def test_the_faults_are_the_simulators_same_seed_same_bytes(rig: Callable[..., Rig]) -> None:
    settings = FaultSettings(WireFaults(0.05, 0.01), WireFaults(0.02, 0.02))
    r = rig(faults=settings, seed=3)
    twin = LinkFaults(settings, seed=3)  # what glasses-sim display --seed 3 would do
    to_board, to_host = twin.to_device.corrupt(DATA), twin.to_host.corrupt(DATA[::-1])
    assert to_board != DATA and to_host != DATA[::-1]
    os.write(r.host, DATA)
    os.write(r.board, DATA[::-1])
    want = lambda: len(r.from_host) >= len(to_board) and len(r.from_board) >= len(to_host)  # noqa: E731
    r.pump(0.0, want, "the faulty bytes")
    assert bytes(r.from_host) == to_board and bytes(r.from_board) == to_host
    for name, wire in twin.stats().items():  # the twin counts no bytes in: corrupt() alone
        assert r.relay.faults.stats()[name] == {**wire, "bytes_in": 3000}


def test_latency_holds_bytes_back_until_their_time(rig: Callable[..., Rig]) -> None:
    r = rig(faults=FaultSettings.both_ways(latency_ms=50.0))
    os.write(r.host, b"late")
    r.pump(1.0, lambda: r.relay.stats.rx_bytes == 4, "the host's bytes at the relay")
    r.relay.step(1.0)
    assert r.from_host == b"" and r.relay.faults.to_device.next_due_s == pytest.approx(1.05)
    r.pump(1.05, lambda: r.from_host == b"late", "the bytes after 50 ms")


def test_unplug_removes_the_port_loses_the_board_bytes_and_resets_it_on_replug(
    rig: Callable[..., Rig],
) -> None:
    r = rig()
    r.relay.unplug(2.0, 0.5)
    assert not r.link.exists()
    # The host's port hangs up, as with glasses-sim display: readable, then EOF or EIO.
    assert select.select([r.host], [], [], DEADLINE_S)[0]
    with contextlib.suppress(OSError):
        assert os.read(r.host, 1) == b""
    os.write(r.board, b"lost")  # said to nobody: the cable is out
    reads, _ = r.relay.fds()  # unplugged: the board's pty alone
    assert select.select(reads, [], [], DEADLINE_S)[0], "the relay sees the board's bytes"
    assert r.relay.step(2.2) == pytest.approx(0.02)
    assert not r.link.exists() and r.replugs == []
    r.relay.step(2.5)
    assert r.replugs == [False], "the board is reset before the host sees the port again"
    os.close(r.host)
    r.host = r.open_host()  # a new pty behind the same link
    os.write(r.board, b"fresh")
    os.write(r.host, b"hello")
    r.pump(2.5, lambda: len(r.from_board) >= 5 and len(r.from_host) >= 5, "bytes after replug")
    assert bytes(r.from_board) == b"fresh" and bytes(r.from_host) == b"hello"
    assert r.relay.stats.unplugs == 1


def test_a_host_that_does_not_read_costs_bounded_memory(rig: Callable[..., Rig]) -> None:
    r = rig(backlog_bytes=1024, chunk_bytes=256)
    sent = 0

    def flood() -> bool:
        nonlocal sent
        with_room = select.select([], [r.board], [], 0)[1]
        if with_room and sent < 1 << 20:
            sent += os.write(r.board, DATA[:256])
        return r.relay.stats.tx_dropped_bytes > 0

    r.pump(0.0, flood, "bytes dropped for a host that reads nothing", host=False)
    link: Any = r.relay.state()["link"]
    assert link["tx_backlog"] <= 1024 and link["tx_dropped_bytes"] > 0


def test_slow_ms_is_refused_the_rest_changes(rig: Callable[..., Rig]) -> None:
    r = rig()
    with pytest.raises(ValueError, match="slow_ms is the simulator's alone"):
        r.relay.change_faults(lambda now: FaultSettings.both_ways(slow_ms=5.0))
    r.relay.change_faults(lambda now: FaultSettings.both_ways(drop_rate=0.5))
    assert r.relay.state()["faults"] == FaultSettings.both_ways(drop_rate=0.5).as_dict()
