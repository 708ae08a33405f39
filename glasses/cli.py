"""The ``glasses`` command line: one subcommand module per concern under ``glasses.commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence

from glasses.errors import GlassesError

# Each module defines ``register(subparsers)``; it must import heavy dependencies lazily,
# inside its handlers, so that ``glasses --help`` stays fast and works without extras.
COMMAND_MODULES: tuple[str, ...] = (
    "glasses.commands.show",
    "glasses.commands.demo",
    "glasses.commands.llm",
    "glasses.commands.read",
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


_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def plain_text(text: str) -> str:
    """reST literals (the ``x`` of docstrings) as a terminal shows code: `x`."""
    return _LITERAL.sub(r"`\1`", text)


def tidy_help(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Plain help texts in ``parser`` and all its subcommands: module docstrings serve as
    descriptions, and their reST literals should not reach ``--help``."""
    for attr in ("description", "epilog"):
        if getattr(parser, attr):
            setattr(parser, attr, plain_text(getattr(parser, attr)))
    for action in parser._actions:
        if isinstance(action.help, str) and action.help != argparse.SUPPRESS:
            action.help = plain_text(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:  # the one-line helps of the command list
                if isinstance(choice.help, str):
                    choice.help = plain_text(choice.help)
            for sub in {id(p): p for p in action.choices.values()}.values():
                tidy_help(sub)
    return parser


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except an on/off flag's and a missing one: "(default:
    False)" and "(default: None)" say nothing (and may follow a help that said "(default)")."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.nargs == 0 or action.default is None:
            return action.help
        return super()._get_help_string(action)


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
