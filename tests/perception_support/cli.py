"""``glasses.cli`` set up for the perception commands' tests."""

from __future__ import annotations

import importlib.util

import pytest

from glasses import cli
from glasses.perception.asr import MODEL_ENV


def only_present_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load only the command modules present: other subcommands may be mid-development in this
    tree, and these tests need only their own.  No speech model comes from the environment."""
    present = tuple(m for m in cli.COMMAND_MODULES if importlib.util.find_spec(m) is not None)
    monkeypatch.setattr(cli, "COMMAND_MODULES", present)
    monkeypatch.delenv(MODEL_ENV, raising=False)
