"""``--help`` texts of the project's commands (``glasses``, ``glasses-sim``) as plain text.

Here, at the bottom of the package stack, so that every command line can use it without
importing the daemon.
"""

from __future__ import annotations

import argparse
import re

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
