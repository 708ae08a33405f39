"""A faulty wire for the firmware under QEMU: a relay between a pty of its own, which the host
opens, and the UART pty that QEMU allocates (``-serial pty``).

The simulator loses and corrupts bytes and pulls its cable inside its own I/O loop; the firmware
has no such switches, so the relay stands on the wire instead, with the simulator's parts: a
:class:`~hw_sim.ports.PtyPort` for the host and :class:`~hw_sim.faults.LinkFaults` on each
direction (the same seed gives the same faults). An unplug does to the host what the simulator's
does: its pty vanishes (the host reads EIO, the ``--link`` symlink goes), bytes in flight are
lost, and after the pause a new pty appears in front of a freshly reset board (``on_replug``).
QEMU paces its UART itself (about 16 kB/s), so the relay adds no pacing of its own.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import select
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Final

from hw_sim.faults import FaultSettings, LinkFaults
from hw_sim.ports import PtyPort
from hw_sim.server import LinkStats

log = logging.getLogger(__name__)

IDLE_WAKE_S: Final = 0.02
"""Longest sleep of the loop: how soon a request from another thread (unplug) is acted on."""


class FaultRelay:
    """Host pty <-> ``device_path`` (QEMU's pty). Drive it with :meth:`step` (time as data) or
    :meth:`start` its thread; :meth:`request_unplug` and :meth:`set_faults` are thread-safe."""

    def __init__(
        self,
        device_path: str,
        faults: FaultSettings | None = None,
        seed: int | None = None,
        link: Path | None = None,
        on_replug: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        chunk_bytes: int = 4096,
        backlog_bytes: int = 64 * 1024,
    ) -> None:
        self.clock, self._chunk, self._max_backlog = clock, chunk_bytes, backlog_bytes
        self._on_replug = on_replug
        self.faults = LinkFaults(faults or FaultSettings(), seed)
        self.stats = LinkStats()
        self._dev = os.open(device_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            tty.setraw(self._dev)  # a binary link: no echo, no CR/LF mapping
            self.port = PtyPort(link, clock)
        except BaseException:
            os.close(self._dev)
            raise
        self._to_device, self._to_host = bytearray(), bytearray()
        self._device_gone = False  # QEMU closed its end (it exited)
        self._replug_at_s: float | None = None
        self._unplug_asked: tuple[float, threading.Event] | None = None  # by another thread
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.port.url

    # -- the loop ------------------------------------------------------------------------

    def step(self, now_s: float) -> float:
        """One turn: move what can move now; returns how long to wait before the next one."""
        with self._lock:
            if self._unplug_asked is not None:
                duration_s, done = self._unplug_asked
                self.unplug(now_s, duration_s)
                self._unplug_asked = None
                done.set()
            if self._replug_at_s is not None and now_s >= self._replug_at_s:
                self._replug()
            self._to_host_side(now_s)
            self._to_device_side(now_s)
            wake = now_s + IDLE_WAKE_S
            for due in (self.faults.to_device.next_due_s, self.faults.to_host.next_due_s):
                wake = min(wake, due if due is not None else wake)
            if self._replug_at_s is not None:
                wake = min(wake, self._replug_at_s)
            return max(wake - now_s, 0.0)

    def _to_host_side(self, now_s: float) -> None:
        # The board's bytes are read even while unplugged: with no cable they go nowhere.
        data = b"" if self._device_gone else self._read_device()
        if self.port.plugged:
            self.faults.to_host.push(data, now_s)
        out = self.faults.to_host.pop_due(now_s)
        if len(self._to_host) + len(out) > self._max_backlog:
            self.stats.tx_dropped_bytes += len(out)  # the host is not reading
        else:
            self._to_host += out
        if self._to_host:
            sent = self.port.write(bytes(self._to_host[: self._chunk]))
            self.stats.tx_bytes += sent
            del self._to_host[:sent]

    def _to_device_side(self, now_s: float) -> None:
        room = min(self._chunk, self._max_backlog - len(self._to_device))
        data = self.port.read(room) if room > 0 else b""  # full: the host's writes wait
        self.stats.rx_bytes += len(data)
        self.faults.to_device.push(data, now_s)
        self._to_device += self.faults.to_device.pop_due(now_s)
        if self._to_device and not self._device_gone:
            try:
                written = os.write(self._dev, bytes(self._to_device[: self._chunk]))
            except (BlockingIOError, InterruptedError):
                written = 0  # QEMU's UART is still busy with the last ones
            except OSError as exc:
                self._gone(exc)
                return
            del self._to_device[:written]

    def _read_device(self) -> bytes:
        try:
            return os.read(self._dev, self._chunk)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            self._gone(exc)
            return b""

    def _gone(self, exc: OSError) -> None:
        log.error("the board's UART pty failed (%s): did QEMU exit?", exc)
        self._device_gone = True
        self._to_device.clear()

    def fds(self) -> tuple[list[int], list[int]]:
        """What to wait on: readable (host, board) and writable (where bytes wait)."""
        with self._lock:
            reads = list(self.port.read_fds()) if len(self._to_device) < self._max_backlog else []
            writes = list(self.port.read_fds()) if self._to_host else []
            if not self._device_gone:
                reads.append(self._dev)
                if self._to_device:
                    writes.append(self._dev)
            return reads, writes

    def run(self) -> None:
        while not self._stop.is_set():
            timeout_s = self.step(self.clock())
            reads, writes = self.fds()
            select.select(reads, writes, [], timeout_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="fault-relay", daemon=True)
        self._thread.start()

    # -- the cable and the switches ------------------------------------------------------

    def unplug(self, now_s: float, duration_s: float) -> None:
        """Pull the cable now (on the relay's thread, or with time as data)."""
        log.info("unplugged for %.2f s", duration_s)
        self.stats.unplugs += 1
        self.port.unplug()
        self.faults.to_device.clear()
        self.faults.to_host.clear()
        self._to_device.clear()
        self._to_host.clear()
        self._replug_at_s = now_s + max(duration_s, 0.0)

    def request_unplug(self, duration_s: float, timeout_s: float = 2.0) -> None:
        """Pull the cable at the loop's next turn (from any thread), as the simulator's web
        API does: the port is gone when this returns. Only the loop closes descriptors."""
        done = threading.Event()
        with self._lock:
            self._unplug_asked = (duration_s, done)
        if not done.wait(timeout_s):
            raise TimeoutError(f"the relay did not pull the cable within {timeout_s:g} s")

    def _replug(self) -> None:
        self._replug_at_s = None
        if self._on_replug is not None:
            try:  # power comes back: the board boots afresh before the host sees the port
                self._on_replug()
            except Exception as exc:  # the port must come back all the same
                log.error("the board did not reset on replug: %s", exc)
        while not self._device_gone and self._read_device():
            pass  # what it said before the reset went nowhere
        self.port.replug()
        log.info("plugged in again at %s", self.port.url)

    def change_faults(self, change: Callable[[FaultSettings], FaultSettings]) -> FaultSettings:
        """Replace the faults by ``change(current)``, atomically (concurrent API calls cannot
        undo each other); ValueError for ``slow_ms``, which a relay cannot apply."""
        with self._lock:
            settings = change(self.faults.settings)
            if settings.slow_ms:
                raise ValueError(
                    "slow_ms is the simulator's alone: the firmware runs at QEMU's own speed"
                )
            self.faults.apply(settings)
        log.info("faults now %s", settings)
        return settings

    def state(self) -> dict[str, object]:
        """The simulator's keys for the same things (plugged, faults, link and fault stats)."""
        with self._lock:
            link = {**dataclasses.asdict(self.stats), "tx_backlog": len(self._to_host)}
            return {
                "plugged": self.port.plugged,
                "connected": self.port.connected,
                "faults": self.faults.settings.as_dict(),
                "link": link,
                "fault_stats": self.faults.stats(),
            }

    def close(self) -> None:
        """Stop the thread, remove the host's pty and link; safe to call more than once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        with self._lock:
            self.port.unplug()
            if self._dev >= 0:
                os.close(self._dev)
                self._dev = -1
                self._device_gone = True
