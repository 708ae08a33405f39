"""Every ``--help`` of ``glasses`` and ``glasses-sim`` reads as plain text: no reST literals
from the docstrings used as descriptions, no default shown twice."""

from __future__ import annotations

import argparse

import pytest

import hw_sim.cli
from firmware_bridge.cli_help import plain_text
from glasses.cli import build_parser, main

pytestmark = pytest.mark.fast


def _commands(parser: argparse.ArgumentParser, path: list[str]) -> list[list[str]]:
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, [*path, name])
    return found


GLASSES = _commands(build_parser(), [])
SIM = _commands(hw_sim.cli.build_parser(), [])


def _check(text: str) -> None:
    assert "usage:" in text
    assert "``" not in text
    assert "(default) (default" not in text
    assert "(default: False)" not in text


def test_every_command_is_walked() -> None:
    names = {" ".join(path) for path in GLASSES}
    assert {"run", "llm generate", "models list", "doctor", "show"} <= names
    assert ["display"] in SIM


@pytest.mark.parametrize("path", GLASSES, ids=lambda p: " ".join(p) or "glasses")
def test_glasses_help_is_plain(
    path: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "2000")  # one line per option: nothing is split by wrapping
    with pytest.raises(SystemExit) as exit:
        main([*path, "--help"])
    assert exit.value.code == 0
    _check(capsys.readouterr().out)


@pytest.mark.parametrize("path", SIM, ids=lambda p: " ".join(p) or "glasses-sim")
def test_simulator_help_is_plain(
    path: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "2000")
    with pytest.raises(SystemExit) as exit:
        hw_sim.cli.build_parser().parse_args([*path, "--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    _check(text)
    if path == ["display"]:
        assert "serve on a pseudo-terminal (default)\n" in text
        assert "(default: 921600)" in text  # the defaults that say something are still shown


def test_plain_text_keeps_the_literal() -> None:
    assert plain_text("``glasses run``: see ``--set\nsection.key``") == (
        "`glasses run`: see `--set\nsection.key`"
    )
