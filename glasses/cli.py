"""The ``glasses`` command line: one subcommand module per concern under ``glasses.commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from firmware_bridge.cli_help import tidy_help
from glasses.errors import GlassesError

# Each module defines ``register(subparsers)``; it must import heavy dependencies lazily,
# inside its handlers, so that ``glasses --help`` stays fast and works without extras.
COMMAND_MODULES: tuple[str, ...] = (
    "glasses.commands.show",
    "glasses.commands.demo",
    "glasses.commands.llm",
    "glasses.commands.read",
    "glasses.commands.look",
    "glasses.commands.listen",
    "glasses.commands.devices",
    "glasses.commands.run",
    "glasses.commands.status",
    "glasses.commands.models",
    "glasses.commands.serve",
    "glasses.commands.doctor",
    "glasses.commands.flash",
    "glasses.commands.conformance",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glasses", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return tidy_help(parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except GlassesError as exc:
        print(f"glasses: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
