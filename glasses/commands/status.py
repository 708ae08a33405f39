"""``glasses status``: what the running daemon is doing — mode, peripherals, what each model
runs on, per-stage latency, queue drops, CPU and memory — read from the status file it rewrites
every second.

Exit status: 0 while the daemon runs, 1 if the file is from a daemon that stopped, 2 if there
is no status file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from glasses.errors import GlassesError

_MODES = ("captions", "translate", "read", "assist")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "status", help="show what the running daemon is doing", description=__doc__
    )
    p.add_argument(
        "--file",
        type=Path,
        metavar="F",
        help="status file (default: the daemon's, in $XDG_RUNTIME_DIR/glasses/)",
    )
    p.add_argument("--json", action="store_true", help="print the status file as it is")
    p.set_defaults(handler=run)
    # `glasses mode` lives here too: like `status`, it talks to the running daemon.
    m = subparsers.add_parser(
        "mode",
        help="switch the running daemon's mode",
        description="Switch the running daemon's mode, as the glasses' double press does "
        "(next) or to a named mode; look: ask the vision model what the camera sees, as a "
        "swipe up does. Exit status: 0 done, 1 refused, 2 no daemon.",
    )
    m.add_argument(
        "mode", type=str.lower, choices=(*_MODES, "next", "look"), help="the mode, next or look"
    )
    m.add_argument(
        "--file",
        type=Path,
        metavar="F",
        help="the daemon's status file (its control socket is next to it)",
    )
    m.set_defaults(handler=switch_mode)


def run(args: argparse.Namespace) -> int:
    from glasses.runtime.status import format_status, pid_alive, read_status

    path = _daemon_file(args.file)
    try:
        status = read_status(path)
    except FileNotFoundError:
        raise GlassesError(f"no status at {path}: is `glasses run` running?") from None
    except (OSError, ValueError) as exc:
        raise GlassesError(f"cannot read the status file {path}: {exc}") from exc
    if args.json:
        print(json.dumps(status, indent=1, ensure_ascii=False))
    else:
        print(format_status(status))
    running = status.get("state") == "running" and pid_alive(int(status.get("pid", 0)))
    return 0 if running else 1


def switch_mode(args: argparse.Namespace) -> int:
    from glasses.runtime.control_socket import control_socket_path, send_request

    path = control_socket_path(_daemon_file(args.file))
    reply = send_request(path, {"mode": args.mode})
    if not reply.get("ok"):
        print(f"glasses: {reply.get('error', 'refused')}", file=sys.stderr)
        return 1
    print(f"mode {reply.get('mode')}")
    return 0


def _daemon_file(given: Path | None) -> Path:
    """The status file named on the command line, else the default one, whose directory is
    trusted only if it is this user's alone (as the daemon requires of it)."""
    from glasses.runtime.status import UnsafeDirectory, default_status_path, safe_dir

    if given is not None:
        return given
    path = default_status_path()
    try:
        safe_dir(path.parent)
    except FileNotFoundError:
        pass  # no daemon has run: reading the file says so
    except UnsafeDirectory as exc:
        raise GlassesError(str(exc)) from None
    return path
