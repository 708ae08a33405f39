"""``glasses flash IMAGE --port URL``: install signed display firmware over SMP (docs/flashing.md).

``glasses flash --list --port URL`` shows the image slots, their versions and states.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from firmware_bridge.config import DEFAULT_BAUD  # light: no pyserial
from glasses.errors import GlassesError

_DESCRIPTION = """Check IMAGE (an MCUboot image signed with imgtool by a trusted key, built for
this board, not older than what runs), upload it over the serial port with SMP, reboot into
it on test, and confirm it once it answers HELLO and PING; otherwise the bootloader restores
the previous firmware. An interrupted upload resumes where the glasses stopped."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("flash", help="update the display firmware", description=_DESCRIPTION)
    p.add_argument("image", nargs="?", type=Path, metavar="IMAGE", help="signed firmware image")
    p.add_argument("--port", required=True, metavar="URL", help="serial port or simulator pty")
    p.add_argument("--list", action="store_true", help="show the slots and exit")
    p.add_argument(
        "--key",
        action="append",
        type=Path,
        metavar="PUB.pem",
        help="trusted public key (repeatable); default: $GLASSES_FIRMWARE_KEY or "
        "~/.config/glasses/firmware-keys/*.pem",
    )
    p.add_argument("--allow-downgrade", action="store_true", help="install an older version")
    p.add_argument(
        "--baud", type=int, default=DEFAULT_BAUD, help=f"UART rate (default {DEFAULT_BAUD})"
    )
    p.add_argument(
        "--boot-timeout",
        type=float,
        default=20.0,
        metavar="S",
        help="the new firmware must answer HELLO within S seconds of its reset",
    )
    p.add_argument(
        "--revert-wait",
        type=float,
        default=20.0,
        metavar="S",
        help="after a failed health check, watch S seconds for the old firmware",
    )
    p.add_argument(
        "--ping-timeout",
        type=float,
        default=2.0,
        metavar="S",
        help="health check: the new firmware must answer PING within S seconds",
    )
    p.add_argument("--smp-timeout", type=float, default=5.0, metavar="S", help="per SMP request")
    p.set_defaults(handler=run)


def _settings(args: argparse.Namespace) -> Any:
    from glasses.flashing.device import FlashSettings

    if "://" in args.port:
        raise GlassesError(
            f"--port {args.port}: flashing needs a serial device or pty path (smpclient opens "
            "ports by path); run the simulator with --pty"
        )
    for name in ("boot_timeout", "revert_wait", "smp_timeout", "ping_timeout"):
        if getattr(args, name) <= 0:
            raise GlassesError(f"--{name.replace('_', '-')} must be positive")
    return FlashSettings(
        port=args.port,
        baud=args.baud,
        allow_downgrade=args.allow_downgrade,
        boot_timeout_s=args.boot_timeout,
        revert_wait_s=args.revert_wait,
        smp_timeout_s=args.smp_timeout,
        ping_timeout_s=args.ping_timeout,
    )


def _say(text: str) -> None:
    print(f"glasses flash: {text}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if getattr(args, "verbose", 0) < 2:
        # smpclient logs every timeout as an ERROR with the whole request; we report it briefly.
        logging.getLogger("smpclient").setLevel(logging.CRITICAL)
    if args.list:
        return _list(settings)
    if args.image is None:
        raise GlassesError("give the firmware IMAGE to flash, or --list")
    from glasses.flashing.flasher import Flasher
    from glasses.flashing.preflight import check_image, default_key_paths, load_keys
    from glasses.progress import ProgressLine

    checked = check_image(args.image, load_keys(args.key or default_key_paths()))
    _say(f"{args.image.name}: MCUboot image {checked.version} for {checked.board}, signature OK")
    bar = ProgressLine("upload")
    try:
        result = asyncio.run(Flasher(settings, checked, _say, bar).run())
    finally:
        bar.finish()
    if result.already_running:
        print(f"{checked.version} is already installed on {args.port}")
    else:
        resumed = f", resumed at byte {result.resumed_at}" if result.resumed_at else ""
        print(f"flashed {checked.version} on {args.port} and confirmed it{resumed}")
    return 0


def _list(settings: Any) -> int:
    from glasses.flashing.flasher import list_slots

    slots = asyncio.run(list_slots(settings))
    print(f"{'slot':<5} {'version':<12} {'state':<28} hash")
    for s in slots:
        flags = [n for n in ("active", "confirmed", "pending", "permanent") if getattr(s, n)]
        if s.active and not s.confirmed:
            flags.append("(test: reverts at the next reset)")
        print(f"{s.slot:<5} {s.version:<12} {' '.join(flags) or '-':<28} {s.hash.hex()[:16]}…")
    return 0
