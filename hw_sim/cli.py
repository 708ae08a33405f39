"""``glasses-sim``: run simulated hardware for developing the host without the glasses.

``glasses-sim display --pty --link /tmp/glasses-tty`` starts a display board; the first line on
stdout is ``READY {json}`` with the port URL and the web view, human logs go to stderr.
``glasses-sim firmware`` does the same with the C reference firmware under QEMU.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from firmware_bridge.cli_help import DefaultsHelpFormatter, tidy_help
from hw_sim.bootloader_cli import add_arguments as add_bootloader_arguments
from hw_sim.bootloader_cli import firmware_config
from hw_sim.device_bugs import DeviceBug
from hw_sim.faults import FaultSettings
from hw_sim.ports import PtyPort, TcpPort
from hw_sim.profiles import DEFAULT_PROFILE, PROFILES, get_profile
from hw_sim.qemu_cli import add_parser as add_firmware_parser
from hw_sim.qemu_cli import run_firmware
from hw_sim.script import Reboot, Step, parse_script
from hw_sim.server import SimConfig, Simulator
from hw_sim.web import WebServer

log = logging.getLogger("hw_sim")

_DISPLAY_HELP = """A display board speaking the link protocol on a pty or a TCP socket. Script steps
(--script, ';' between steps, time in seconds first): button press|long|double [ID], swipe
forward|back|up|down, battery PCT [charging], worn on|off, temperature C, event KIND CODE
VALUE, log LEVEL TEXT, reboot, unplug [S]. Web API: GET / /screen.png /api/state; POST
/api/event /api/unplug /api/reboot /api/faults /api/snapshot."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glasses-sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    d = sub.add_parser(
        "display",
        help="simulate the display MCU in the glasses",
        description=_DISPLAY_HELP,
        formatter_class=DefaultsHelpFormatter,  # no "(default: False)" after on/off flags
    )
    d.add_argument("--profile", default=DEFAULT_PROFILE, choices=sorted(PROFILES))
    where = d.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true", help="serve on a pseudo-terminal (default)")
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (0: any)")
    d.add_argument("--link", type=Path, metavar="PATH", help="with --pty: symlink to the pty")
    d.add_argument("--baud", type=int, default=921_600, help="emulated UART speed (bit/s)")
    web = d.add_mutually_exclusive_group()
    web.add_argument("--web-port", type=int, default=8765, help="live view port (0: any)")
    web.add_argument("--no-web", action="store_true", help="no live view / HTTP API")
    d.add_argument("--save-dir", type=Path, help="save a PNG of every PRESENT here")
    d.add_argument("--keep", type=int, default=100, help="newest PNGs kept in --save-dir")
    d.add_argument("--drop-rate", type=float, default=0.0, help="P(byte lost), both ways")
    d.add_argument("--flip-rate", type=float, default=0.0, help="P(bit error in a byte)")
    d.add_argument("--latency-ms", type=float, default=0.0, help="extra one-way delay")
    d.add_argument("--slow-ms", type=float, default=0.0, help="extra device time per frame")
    d.add_argument("--seed", type=int, help="fault generator seed (reproducible runs)")
    d.add_argument("--script", default="", help='timed steps, e.g. "2 button press; 3 swipe back"')
    d.add_argument("--reboot-at", type=float, metavar="S", help="reboot the device at S seconds")
    d.add_argument(
        "--bug",
        action="append",
        choices=[b.value for b in DeviceBug],
        help="break the protocol on purpose (repeatable): test `glasses conformance` with it",
    )
    add_bootloader_arguments(d)
    d.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    d.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    add_firmware_parser(sub)
    return tidy_help(parser)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    if args.link is not None and args.tcp is not None:
        raise ValueError("--link needs --pty")
    if args.baud <= 0 or args.keep < 1:
        raise ValueError("--baud and --keep must be positive")
    steps = parse_script(args.script)
    if args.reboot_at is not None:
        steps.append(Step(args.reboot_at, len(steps), Reboot()))
    faults = FaultSettings.both_ways(args.drop_rate, args.flip_rate, args.latency_ms, args.slow_ms)
    profile = get_profile(args.profile)
    return SimConfig(
        profile=profile,
        tcp_port=args.tcp,
        link=args.link,
        baud=args.baud,
        faults=faults,
        seed=args.seed,
        steps=tuple(steps),
        save_dir=args.save_dir,
        keep=args.keep,
        firmware=firmware_config(args, profile),
        bugs=frozenset(DeviceBug(b) for b in args.bug or ()),
    )


def ready_line(sim: Simulator) -> str:
    port, p = sim.port, sim.config.profile
    info = {
        "url": port.url,
        "web": sim.web_url,
        "profile": p.name,
        "width": p.width_px,
        "height": p.height_px,
        "bpp": p.bpp,
        "board_id": p.board_id,
        "baud": sim.config.baud,
        "pty": port.slave_path if isinstance(port, PtyPort) else None,
        "tcp_port": port.port if isinstance(port, TcpPort) else None,
        "pid": os.getpid(),
    }
    return "READY " + json.dumps(info)


def run_display(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
        sim = Simulator(config)
    except (OSError, ValueError) as exc:
        print(f"glasses-sim: error: {exc}", file=sys.stderr)
        return 2
    web: WebServer | None = None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    try:
        if not args.no_web:
            web = WebServer(sim, args.web_port)
            sim.web_url = web.url
            web.start()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)
        print(ready_line(sim), flush=True)
        log.info("display %s at %s, web %s", config.profile.name, sim.port.url, sim.web_url)
        sim.run(stop)  # returns on a signal; removes the link on the way out
    except OSError as exc:
        print(f"glasses-sim: error: {exc}", file=sys.stderr)
        return 2
    finally:
        sim.close()
        if web is not None:
            web.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING if args.quiet else logging.INFO - 10 * min(args.verbose, 1)
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return run_firmware(args) if args.command == "firmware" else run_display(args)


if __name__ == "__main__":
    sys.exit(main())
