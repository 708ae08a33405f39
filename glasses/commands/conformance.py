"""``glasses conformance --display URL``: put a display device (the glasses, the simulator,
firmware under qemu) through the device conformance checklist of docs/protocol.md §13 as a raw
protocol peer, and report each check with its spec section.  Exits 1 if any check fails."""

from __future__ import annotations

import argparse
from typing import Any

from firmware_bridge.config import DEFAULT_BAUD  # light: no numpy, no pyserial
from glasses.errors import GlassesError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help="check a display device against the link protocol",
        description=__doc__,
    )
    parser.add_argument(
        "--display",
        required=True,
        metavar="URL",
        help="the device's port: /dev/ttyACM0, a simulator or qemu pty path, socket://HOST:PORT",
    )
    parser.add_argument(
        "--baud", type=int, default=DEFAULT_BAUD, help=f"UART bit rate (default {DEFAULT_BAUD})"
    )
    parser.add_argument(
        "--screen",
        metavar="URL",
        help="dump of the panel for the pixel checks: the simulator's "
        "http://HOST:PORT/screen.png, or an image file the firmware rewrites (else skipped)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="CHECK", default=(), help="run only these checks"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1.0,
        metavar="S",
        help="wait at most S seconds for each answer of the device (default 1)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.add_argument(
        "-v",
        "--verbose",
        dest="transcript",
        action="store_true",
        help="show the frames exchanged in each check",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that ``glasses --help`` does not load numpy and pyserial.
    from firmware_bridge.conformance import Options, render_text, run_checks, to_json
    from firmware_bridge.errors import LinkError
    from firmware_bridge.transport import open_transport

    if args.timeout <= 0:
        raise GlassesError(f"--timeout must be positive, got {args.timeout:g}")
    options = Options(reply_timeout_s=args.timeout, check_timeout_s=max(10.0, 10 * args.timeout))
    try:
        transport = open_transport(args.display, args.baud)
    except LinkError as exc:
        raise GlassesError(str(exc)) from exc
    try:
        report = run_checks(transport, screen=args.screen, only=tuple(args.only), options=options)
    except ValueError as exc:
        raise GlassesError(str(exc)) from exc
    except LinkError as exc:
        raise GlassesError(f"the display link failed: {exc}") from exc
    finally:
        transport.close()
    text = to_json(report, args.transcript) if args.json else render_text(report, args.transcript)
    print(text)
    return 0 if report.ok else 1
