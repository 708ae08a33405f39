"""``glasses-sim firmware``: the reference firmware (mcu/boards/mps2-an386) under
qemu-system-arm, served like ``glasses-sim display``: the first stdout line is ``READY {json}``
with the pty's URL and the HTTP API, logs go to stderr, SIGTERM stops it. The host's pty is the
fault relay's (hw_sim.fault_relay), in front of QEMU's: the simulator's wire faults and unplug."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from firmware_bridge.cli_help import DefaultsHelpFormatter
from hw_sim.fault_relay import FaultRelay
from hw_sim.faults import FaultSettings
from hw_sim.profiles import DEFAULT_PROFILE, PROFILES, get_profile
from hw_sim.qemu_device import QemuDevice, QemuDeviceError, build_firmware
from hw_sim.qemu_web import FirmwareWebServer

log = logging.getLogger("hw_sim.firmware")

_HELP = """The C device library's reference firmware on qemu-system-arm -M mps2-an386: the link
protocol on UART0 (a pty), inputs through the firmware's debug channel (UART1). Builds it
with make first unless --elf is given. The host opens QEMU's own pty, unless --relay (implied
by any fault option) puts a relay in front of it that applies the simulator's wire faults
(--drop-rate, --flip-rate, --latency-ms, --seed; POST /api/faults) and pulls the cable (POST
/api/unplug: the pty vanishes, and comes back in front of a reset board). The relay buffers
what the host writes, so the host's writes no longer wait on the board's UART: conformance's
timing checks run without it. Web API: GET /screen.png /api/state; POST /api/event
/api/reboot, and /api/unplug /api/faults with the relay (docs/firmware.md)."""


def add_parser(sub: Any) -> None:
    f = sub.add_parser(
        "firmware",
        help="run the C reference firmware under QEMU",
        description=_HELP,
        formatter_class=DefaultsHelpFormatter,
    )
    f.add_argument("--profile", default=DEFAULT_PROFILE, choices=sorted(PROFILES))
    f.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (the only way)")
    f.add_argument("--link", type=Path, metavar="PATH", help="symlink to the pty")
    f.add_argument("--elf", type=Path, help="run this firmware.elf instead of building one")
    f.add_argument("--drop-rate", type=float, default=0.0, help="P(byte lost), both ways")
    f.add_argument("--flip-rate", type=float, default=0.0, help="P(bit error in a byte)")
    f.add_argument("--latency-ms", type=float, default=0.0, help="extra one-way delay")
    f.add_argument("--seed", type=int, help="fault generator seed (reproducible runs)")
    f.add_argument(
        "--relay", action="store_true", help="the fault relay in front of QEMU's pty (unplugs)"
    )
    web = f.add_mutually_exclusive_group()
    web.add_argument("--web-port", type=int, default=8766, help="HTTP API port (0: any)")
    web.add_argument("--no-web", action="store_true", help="no HTTP API")
    f.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    f.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")


def ready_line(
    device: QemuDevice, relay: FaultRelay | None, web: FirmwareWebServer | None, profile: str
) -> str:
    p = get_profile(profile)
    url, pty = (relay.url, relay.port.slave_path) if relay else (device.url, device.pty)
    info: dict[str, object] = {"url": url, "web": web.url if web else None}
    info["profile"] = p.name
    info |= {"width": p.width_px, "height": p.height_px, "bpp": p.bpp, "board_id": p.board_id}
    info |= {"baud": None, "pty": pty, "tcp_port": None, "pid": os.getpid()}
    info |= {"qemu_pid": device.proc.pid, "qemu_pty": device.pty, "elf": str(device.elf)}
    return "READY " + json.dumps(info)


def run_firmware(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    device: QemuDevice | None = None
    relay: FaultRelay | None = None
    web: FirmwareWebServer | None = None
    try:
        faults = FaultSettings.both_ways(args.drop_rate, args.flip_rate, args.latency_ms)
        elf = args.elf if args.elf is not None else build_firmware(args.profile)
        wanted = args.relay or faults != FaultSettings() or args.seed is not None
        device = QemuDevice(elf, link=None if wanted else args.link)
        if wanted:
            relay = FaultRelay(device.pty, faults, args.seed, args.link, on_replug=device.reset)
            relay.start()
        if not args.no_web:
            web = FirmwareWebServer(device, args.web_port, relay)
            web.start()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)
        print(ready_line(device, relay, web, args.profile), flush=True)
        url = relay.url if relay else device.url
        log.info("firmware %s at %s (qemu pid %d)", args.profile, url, device.proc.pid)
        while not stop.wait(0.2):  # also notice QEMU exiting by itself
            if device.proc.poll() is not None:
                print(
                    f"glasses-sim: error: qemu-system-arm exited: {device.log()}", file=sys.stderr
                )
                return 1
    except (OSError, ValueError, QemuDeviceError) as exc:
        print(f"glasses-sim: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if web is not None:
            web.close()
        if relay is not None:
            relay.close()
        if device is not None:
            device.close()
    return 0
