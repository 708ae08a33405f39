"""``glasses show TEXT --display URL``: put one screen of text on the glasses and exit."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Final

from firmware_bridge.config import DEFAULT_BAUD  # light: no numpy, no pyserial
from glasses.errors import GlassesError

DEFAULT_TIMEOUT_S: Final = 10.0


class DisplayLinkError(GlassesError):
    """The display could not be reached or did not confirm the screen."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show text on the glasses",
        description="Connect to the display, show TEXT wrapped to the screen and exit once "
        "the display has confirmed it.",
    )
    parser.add_argument("text", metavar="TEXT", help="text to show; '-' reads standard input")
    parser.add_argument(
        "--display",
        required=True,
        metavar="URL",
        help="serial port of the glasses (/dev/ttyACM0, /dev/serial0), a simulator pty path "
        "or socket://HOST:PORT",
    )
    parser.add_argument(
        "--baud", type=int, default=DEFAULT_BAUD, help=f"UART bit rate (default {DEFAULT_BAUD})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"give up after S seconds (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that ``glasses --help`` does not load numpy, pyserial and fonts.
    from firmware_bridge.compositor import Compositor
    from firmware_bridge.config import LinkConfig
    from firmware_bridge.errors import LinkError
    from firmware_bridge.link import DisplayLink
    from firmware_bridge.protocol.geometry import DisplayGeometry
    from glasses.display.raster import Renderer

    text = sys.stdin.read() if args.text == "-" else args.text
    if args.timeout <= 0:
        raise GlassesError(f"--timeout must be positive, got {args.timeout:g}")
    started = time.monotonic()
    deadline = started + args.timeout
    try:
        config = LinkConfig(url=args.display, baud=args.baud)
    except ValueError as exc:
        raise GlassesError(f"bad link settings: {exc}") from exc
    try:
        with DisplayLink(config, Compositor.for_device) as link:
            info = link.wait_connected(args.timeout)
            geometry = DisplayGeometry(info.width_px, info.height_px, info.bpp)
            renderer = Renderer(geometry)
            link.show(renderer.render_text(text))
            if not link.wait_presented(max(0.0, deadline - time.monotonic())):
                raise DisplayLinkError(
                    f"the display at {args.display} did not confirm the screen within "
                    f"{args.timeout:g} s (link {link.state.value}); try a longer --timeout"
                )
            stats = link.stats
    except LinkError as exc:
        raise DisplayLinkError(str(exc)) from exc
    elapsed_s = time.monotonic() - started
    major, minor, patch = info.fw_version
    shown, total = characters_shown(renderer, text)
    cut = (
        f" but cut to fit: the first {shown} of {total} characters, then …" if shown < total else ""
    )
    print(
        f"shown on {info.board_id} ({geometry.name}, firmware {major}.{minor}.{patch}){cut}: "
        f"{stats.bytes_tx} bytes sent in {elapsed_s:.2f} s"
    )
    return 0


def characters_shown(renderer: Any, text: str) -> tuple[int, int]:
    """``(shown, total)``: how many characters of ``text`` (as laid out, spaces tidied) fit on
    the screen :meth:`Renderer.render_text` draws, and how many there are."""
    from glasses.display.charclass import normalise_text
    from glasses.display.layout import fit_lines

    layout = renderer.layout
    box = layout.body_box(with_status=False)
    lines = fit_lines(text, layout.body.measure, box.width_px, layout.body_lines(False))
    total = len(normalise_text(text))
    if lines and lines[-1].ellipsis:
        return lines[-1].end, total
    return total, total
