"""The board reader's throttling fallback: ``vcgencmd get_throttled`` where the sysfs file is
missing (older Pi kernels), with a real fake ``vcgencmd`` script on PATH."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from glasses.power.board import PI_THROTTLED, BoardReader

pytestmark = pytest.mark.process


def fake_vcgencmd(folder: Path, body: str) -> Path:
    """A ``vcgencmd`` shell script that logs its arguments to ``calls`` and runs ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "vcgencmd"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{folder}/calls"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder / "calls"


def on_path(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")


def test_without_the_sysfs_file_vcgencmd_tells_the_throttling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_vcgencmd(tmp_path / "bin", "echo throttled=0x50005")
    on_path(monkeypatch, tmp_path / "bin")
    reader = BoardReader(tmp_path / "root")
    assert reader.throttled() == ("under-voltage", "throttled")
    assert reader.read().throttled == ("under-voltage", "throttled")
    assert calls.read_text().splitlines() == ["get_throttled", "get_throttled"]


def test_the_sysfs_file_wins_over_vcgencmd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_vcgencmd(tmp_path / "bin", "echo throttled=0x2")
    on_path(monkeypatch, tmp_path / "bin")
    sysfs = tmp_path / "root" / PI_THROTTLED
    sysfs.parent.mkdir(parents=True)
    sysfs.write_text("0x8\n")
    assert BoardReader(tmp_path / "root").throttled() == ("soft temperature limit",)
    assert not calls.exists()  # not even asked


def test_a_failing_vcgencmd_is_said_once_and_means_no_throttling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_vcgencmd(tmp_path / "bin", "echo 'VCHI initialization failed' >&2; exit 255")
    on_path(monkeypatch, tmp_path / "bin")
    reader = BoardReader(tmp_path / "root")
    with caplog.at_level(logging.WARNING, logger="glasses.power.board"):
        assert reader.throttled() == ()
        assert reader.throttled() == ()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "exited 255" in warnings[0] and "VCHI initialization failed" in warnings[0]
    assert "video group" in warnings[0]


def test_garbage_from_vcgencmd_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_vcgencmd(tmp_path / "bin", "echo throttled=zzz")
    on_path(monkeypatch, tmp_path / "bin")
    with caplog.at_level(logging.WARNING, logger="glasses.power.board"):
        assert BoardReader(tmp_path / "root").throttled() == ()
    assert "vcgencmd get_throttled: 'zzz' is not a hex number" in caplog.text


def test_no_sysfs_file_and_no_vcgencmd_is_no_throttling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert BoardReader(tmp_path / "root").throttled() == ()
