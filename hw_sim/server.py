"""The simulator process core: one I/O thread runs the device against a port at the emulated
baud rate, with faults, scripted steps and commands from the web API.

Time is ``clock() - start``, read once per loop turn and passed down to the pure parts.
"""

from __future__ import annotations

import dataclasses
import logging
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hw_sim.device import DisplayDevice
from hw_sim.device_bugs import BuggyDisplayDevice, DeviceBug
from hw_sim.events import ResetCause
from hw_sim.faults import FaultSettings, LinkFaults
from hw_sim.ports import Port, PtyPort, TcpPort
from hw_sim.profiles import Profile
from hw_sim.script import Action, InputEvent, LogLine, Reboot, Step, Timeline, Unplug
from hw_sim.snapshots import SnapshotSaver
from hw_sim.state import Shared
from hw_sim.wire import BITS_PER_BYTE, Pacer

if TYPE_CHECKING:
    from hw_sim.mcu import FirmwareConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimConfig:
    """How to run one simulated display."""

    profile: Profile
    """The board to simulate."""
    tcp_port: int | None = None
    """Listen on 127.0.0.1:tcp_port (0 = any free port) instead of creating a pty."""
    link: Path | None = None
    """With a pty: keep a symlink here pointing at the current slave device."""
    baud: int = 921_600
    """Emulated UART speed; every byte takes 10 bit times in each direction."""
    faults: FaultSettings = field(default_factory=FaultSettings)
    """Initial faults (changeable at run time through the web API)."""
    seed: int | None = None
    """Seed for the fault generator; None draws a fresh one."""
    steps: tuple[Step, ...] = ()
    """Scripted inputs and faults, at times after start."""
    save_dir: Path | None = None
    """Save the panel as PNG on every PRESENT into this directory."""
    keep: int = 100
    """Newest PNG files kept in ``save_dir``."""
    read_chunk_bytes: int = 4096
    """Largest single read from the port (bounds the work per loop turn)."""
    tx_backlog_bytes: int = 256 * 1024
    """Bytes waiting for the wire towards the host before new ones are dropped."""
    firmware: FirmwareConfig | None = None
    """Flash, bootloader and SMP server (glasses-sim display --bootloader-key); None: a
    display without firmware updates, which refuses ENTER_BOOTLOADER."""
    bugs: frozenset[DeviceBug] = frozenset()
    """Deliberate spec violations (glasses-sim display --bug), to test the conformance checker."""


@dataclass
class LinkStats:
    rx_bytes: int = 0
    tx_bytes: int = 0
    tx_dropped_bytes: int = 0
    unplugs: int = 0


class Simulator:
    """Owns the device, the port and the faults; ``web_url`` is shown in the state."""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.monotonic) -> None:
        cfg = self.config = config
        self.clock = clock
        self.web_url: str | None = None
        self._t0 = self.clock()
        processing_s = cfg.faults.slow_ms / 1000
        byte_time_s = BITS_PER_BYTE / cfg.baud  # the device's ARQ counts the wire time
        self.device: DisplayDevice
        if cfg.bugs:
            if cfg.firmware is not None:
                raise ValueError("--bug applies to the display without a bootloader")
            self.device = BuggyDisplayDevice(
                cfg.profile, cfg.bugs, 0.0, processing_s=processing_s, byte_time_s=byte_time_s
            )
        elif cfg.firmware is None:
            self.device = DisplayDevice(
                cfg.profile, 0.0, processing_s=processing_s, byte_time_s=byte_time_s
            )
        else:
            from hw_sim.mcu import FlashableDevice  # needs the flash extra

            self.device = FlashableDevice(
                cfg.profile, cfg.firmware, 0.0, processing_s=processing_s, byte_time_s=byte_time_s
            )
        self.faults = LinkFaults(cfg.faults, cfg.seed)
        self.rx_pacer, self.tx_pacer = Pacer(cfg.baud), Pacer(cfg.baud)
        self.port: Port = (
            TcpPort(cfg.tcp_port) if cfg.tcp_port is not None else PtyPort(cfg.link, self.clock)
        )
        self.timeline = Timeline(list(cfg.steps))
        self.shared = Shared(cfg.profile.bpp)
        self.stats = LinkStats()
        self.saver = (
            SnapshotSaver(cfg.save_dir, cfg.profile.bpp, cfg.keep) if cfg.save_dir else None
        )
        self._backlog = bytearray()
        self._replug_at_s: float | None = None
        self._published_screen = -1
        self._saved_presents = 0
        self._next_publish_s = 0.0
        self._publish(0.0)

    def now_s(self) -> float:
        return self.clock() - self._t0

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self._wait(self.step())
        finally:
            self.close()

    def step(self) -> float:
        """One turn of the loop; returns how long to wait before the next one."""
        now = self.now_s()
        self.shared.run_commands(now)
        for step in self.timeline.due(now):
            self.perform(step.action, now)
        if self._replug_at_s is not None and now >= self._replug_at_s:
            self._replug(now)
        if self._replug_at_s is None:
            self._move_bytes(now)
        self._publish(now)
        return self._timeout(now)

    def _move_bytes(self, now: float) -> None:
        cfg, dev = self.config, self.device
        self.port.service()
        room = self.rx_pacer.allowance(now)
        if room:
            data = self.port.read(min(room, cfg.read_chunk_bytes))
            if data:
                self.rx_pacer.consume(len(data), now)
                self.stats.rx_bytes += len(data)
                self.faults.to_device.push(data, now)
        arrived = self.faults.to_device.pop_due(now)
        if arrived:
            dev.receive_bytes(arrived, now)
        self.faults.to_host.push(dev.poll(now), now)
        out = self.faults.to_host.pop_due(now)
        if len(self._backlog) + len(out) > cfg.tx_backlog_bytes:
            self.stats.tx_dropped_bytes += len(out)  # the host is not reading
        else:
            self._backlog += out
        room = self.tx_pacer.allowance(now)
        if self._backlog and room:
            sent = self.port.write(bytes(self._backlog[:room]))
            self.tx_pacer.consume(sent, now)
            self.stats.tx_bytes += sent
            del self._backlog[:sent]

    def _timeout(self, now: float) -> float:
        wake = now + 0.01  # device timers (retransmits, reboot) need no finer grain
        if self._backlog:
            wake = min(wake, self.tx_pacer.ready_s(now))
        for due in (self.faults.to_device.next_due_s, self.faults.to_host.next_due_s):
            if due is not None:
                wake = min(wake, due)
        return max(wake - now, 0.001)  # a wire burst is 4 ms: waking more often buys nothing

    def _wait(self, timeout_s: float) -> None:
        # Wait for input only once the wire can take a millisecond's worth of it: reading
        # each byte as soon as it is due would spin the loop for nothing.
        now = self.now_s()
        chunk = int(self.rx_pacer.bytes_per_s / 1000)
        ready = self.rx_pacer.ready_s(now, chunk) - now
        fds = self.port.read_fds() if ready <= 0 else []
        if fds:
            select.select(fds, [], [], timeout_s)
        else:
            time.sleep(min(timeout_s, max(ready, 0.0005)))

    # -- actions -------------------------------------------------------------------------

    def perform(self, action: Action, now: float) -> bool:
        """Do a scripted or API action; False if an event could not be queued."""
        dev = self.device
        match action:
            case InputEvent(kind=kind, code=code, value=value):
                return dev.send_event(kind, code, value, now)
            case LogLine(level=level, text=text):
                return dev.send_log(level, text, now)
            case Reboot():
                log.info("injected reboot")
                dev.reboot(now, ResetCause.WATCHDOG)
            case Unplug(duration_s=duration_s):
                self.unplug(now, duration_s)
        return True

    def unplug(self, now: float, duration_s: float) -> None:
        log.info("unplugged for %.2f s", duration_s)
        self.stats.unplugs += 1
        self.port.unplug()
        self.device.power_off()
        self.faults.to_device.clear()
        self.faults.to_host.clear()
        self._backlog.clear()
        self._replug_at_s = now + max(duration_s, 0.0)

    def _replug(self, now: float) -> None:
        try:
            self.port.replug()
        except OSError as exc:  # e.g. another program took the TCP port meanwhile
            log.error("cannot plug in again (%s); retrying in 1 s", exc)
            self._replug_at_s = now + 1.0
            return
        self._replug_at_s = None
        self.device.power_on(now)
        log.info("plugged in again at %s", self.port.url)

    def set_faults(self, settings: FaultSettings) -> FaultSettings:
        log.info("faults now %s", settings)
        self.faults.apply(settings)
        self.device.processing_s = settings.slow_ms / 1000
        return settings

    def close(self) -> None:
        """Unplug (removing the link) and finish saving; safe to call more than once."""
        self.port.unplug()
        if self.saver is not None:
            self.saver.close()
            self.saver = None

    # -- publishing ----------------------------------------------------------------------

    def _publish(self, now: float) -> None:
        dev = self.device
        changed = dev.screen_version != self._published_screen
        if self.saver is not None and dev.stats.presents != self._saved_presents:
            self._saved_presents = dev.stats.presents
            frame_id = dev.stats.last_frame_id or 0
            self.saver.submit(f"frame-{dev.stats.presents:06d}-{frame_id:08x}.png", dev.fb.front)
        if not changed and now < self._next_publish_s:
            return  # the state view is refreshed every 20 ms; screen changes go out at once
        self._next_publish_s = now + 0.02
        self._published_screen = dev.screen_version
        front = dev.fb.front.copy() if changed else None
        self.shared.publish(self.state_dict(now), front, dev.screen_version)

    def state_dict(self, now: float) -> dict[str, object]:
        dev, p = self.device, self.config.profile
        return {
            "url": self.port.url,
            "web": self.web_url,
            "profile": p.name,
            "board_id": p.board_id,
            "width": p.width_px,
            "height": p.height_px,
            "bpp": p.bpp,
            "frame_id": dev.stats.last_frame_id,
            "presents": dev.stats.presents,
            "screen_version": dev.screen_version,
            "session": dev.session,
            "session_id": dev.session_id,
            "sleeping": dev.sleeping,
            "brightness": dev.brightness,
            # On the simulator's clock (time.monotonic: comparable between processes), for
            # timing wake-ups from outside (scripts/bench_power.py).
            "last_wake_clock_s": None if dev.woke_s is None else self._t0 + dev.woke_s,
            "last_present_clock_s": None if dev.presented_s is None else self._t0 + dev.presented_s,
            "powered": dev.powered,
            "plugged": self.port.plugged,
            "connected": self.port.connected,
            "uptime_ms": dev.uptime_ms(now) if dev.powered else 0,
            "faults": self.faults.settings.as_dict(),
            "stats": {
                "device": dev.stats.as_dict(),
                "decoder": dataclasses.asdict(dev.decoder.stats),
                "arq": dataclasses.asdict(dev.arq.stats),
                "link": {**dataclasses.asdict(self.stats), "tx_backlog": len(self._backlog)},
                "faults": self.faults.stats(),
                "saved_png": self.saver.saved if self.saver else 0,
            },
        }
