"""``glasses conformance`` against the simulator process over a real pty: the simulator passes
every check of docs/protocol.md §13, each ``--bug`` of ``glasses-sim display`` fails exactly
the check it breaks (naming the section), a silent port fails without hanging; and the report
formatting."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from firmware_bridge.conformance import (
    CheckResult,
    Report,
    Status,
    check_names,
    render_text,
    to_json,
)
from firmware_bridge.protocol import Copy
from glasses.cli import main

pytestmark = pytest.mark.process

pytest.importorskip("PIL.Image")
from hw_sim.device_bugs import wrong_order_copy  # noqa: E402
from hw_sim.framebuffer import Framebuffer, copy_rect  # noqa: E402
from hw_sim.launcher import SimulatorProcess  # noqa: E402

Sim = Callable[..., SimulatorProcess]


def conformance(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``glasses conformance ARGS --json`` here; returns the exit code and the report."""
    code = main(["conformance", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def against(sim: SimulatorProcess, *args: str) -> list[str]:
    assert sim.web is not None
    return ["--display", sim.url, "--screen", sim.web + "/screen.png", *args]


def by_status(report: dict[str, Any], status: str) -> list[str]:
    return [c["name"] for c in report["checks"] if c["status"] == status]


def test_the_simulator_passes_every_check(
    sim_process: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = conformance(capsys, *against(sim_process()))
    assert [c["name"] for c in report["checks"]] == check_names()
    assert by_status(report, "fail") == [], report
    assert by_status(report, "skip") == []
    assert code == 0 and report["ok"]
    assert report["device"]["board_id"] == "glasses-proto-640"
    assert {c["name"] for c in report["checks"] if c["needs_screen"]} >= {"copy_overlap"}


def test_a_small_board_passes_and_skips_only_what_cannot_apply(
    sim_process: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    # 256-byte payloads: no frame can end in a full 254-byte COBS block.
    code, report = conformance(capsys, *against(sim_process("--profile", "128x64x1")))
    assert by_status(report, "fail") == []
    assert by_status(report, "skip") == ["cobs_trailing_block"]
    skipped = next(c for c in report["checks"] if c["status"] == "skip")
    assert "max_payload >= 259" in skipped["seen"]
    assert code == 0


@pytest.mark.parametrize(
    ("bug", "check", "section"),
    [("copy-overlap", "copy_overlap", "9.6"), ("no-dup-ack", "duplicate", "8.3")],
)
def test_each_bug_fails_exactly_its_check(
    sim_process: Sim, capsys: pytest.CaptureFixture[str], bug: str, check: str, section: str
) -> None:
    sim = sim_process("--bug", bug)
    code, report = conformance(capsys, *against(sim))
    assert code == 1 and not report["ok"]
    assert by_status(report, "fail") == [check]
    failed = next(c for c in report["checks"] if c["status"] == "fail")
    assert failed["section"] == section
    assert failed["expected"] and failed["seen"]
    # The table names the section and what was expected and seen.
    assert main(["conformance", *against(sim), "--only", check]) == 1
    text = capsys.readouterr().out
    assert f"FAIL  {check}" in text and f"§{section}" in text
    assert "expected: " in text and "seen: " in text


def test_without_a_screen_the_pixel_checks_are_skipped_and_named(
    sim_process: Sim, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = sim_process("--bug", "copy-overlap")
    only = ["--only", "copy_invalid", "copy_overlap"]
    code, report = conformance(capsys, "--display", sim.url, *only)
    assert code == 0  # the broken COPY cannot be seen without a screen: skipped, not passed
    assert by_status(report, "pass") == ["copy_invalid"]  # the handshake runs, unreported
    assert by_status(report, "skip") == ["copy_overlap"]
    assert "--screen" in report["checks"][-1]["seen"]
    assert main(["conformance", "--display", sim.url, *only]) == 0
    assert "pixels need --screen: copy_overlap" in capsys.readouterr().out


@pytest.fixture
def silent_port() -> Iterator[str]:
    """A real pty with nobody behind it: a device that never answers."""
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(slave)
        os.close(master)


@pytest.mark.fast
def test_a_silent_device_fails_the_handshake_and_the_run_ends(
    silent_port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = conformance(capsys, "--display", silent_port, "--timeout", "0.2")
    assert code == 1
    first = report["checks"][0]
    assert (first["name"], first["status"], first["section"]) == ("handshake", "fail", "7.3")
    assert "HELLO_ACK" in first["expected"] and "nothing within 0.2 s" in first["seen"]
    assert by_status(report, "skip") == check_names()[1:]


@pytest.mark.fast
def test_an_unknown_check_name_is_refused_with_the_known_ones(
    silent_port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["conformance", "--display", silent_port, "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no such check: nope" in err and "copy_overlap" in err


@pytest.mark.fast
def test_the_copy_overlap_bug_differs_only_where_rectangles_overlap() -> None:
    rng = np.random.default_rng(1)
    for move, overlapping in (
        (Copy(0, 6, 16, 8, 0, 2), True),
        (Copy(0, 2, 16, 8, 0, 6), True),
        (Copy(0, 0, 16, 4, 0, 10), False),
    ):
        right, wrong = Framebuffer(16, 16, 4), Framebuffer(16, 16, 4)
        right.back[:] = wrong.back[:] = rng.integers(0, 16, (16, 16), dtype=np.uint8)
        copy_rect(right.back, 4, move)
        wrong_order_copy(wrong, move)
        assert np.array_equal(right.back, wrong.back) != overlapping


def _result(name: str, status: Status, **kw: Any) -> CheckResult:
    return CheckResult(name, "9.6", f"title of {name}", status, **kw)


@pytest.mark.fast
def test_report_text_shows_each_check_with_section_expected_and_seen() -> None:
    report = Report(
        "/dev/pts/9",
        {
            "board_id": "b",
            "fw_version": [1, 2, 3],
            "width_px": 8,
            "height_px": 4,
            "bpp": 1,
            "max_payload": 64,
            "window": 2,
        },
    )
    report.results = [
        _result("ok_one", Status.PASS),
        _result(
            "bad_one",
            Status.FAIL,
            expected="rows top-down",
            seen="3 pixels differ",
            needs_screen=True,
            transcript=("-> COPY", "<- ACK"),
        ),
        _result("later", Status.SKIP, seen="needs --screen"),
    ]
    text = render_text(report)
    assert text.splitlines()[0].startswith("conformance of /dev/pts/9 (b, firmware 1.2.3, 8x4")
    assert "PASS  ok_one   §9.6" in text
    assert "FAIL  bad_one  §9.6   title of bad_one [screen]" in text
    assert "      expected: rows top-down\n      seen:     3 pixels differ" in text
    assert "SKIP  later" in text and "      needs --screen" in text
    assert "3 checks: 1 passed, 1 failed, 1 skipped" in text
    assert "pixels need --screen: bad_one" in text
    assert "| -> COPY" not in text and "| -> COPY" in render_text(report, verbose=True)
    assert not report.ok


@pytest.mark.fast
def test_report_json_is_complete_and_transcripts_only_when_verbose() -> None:
    report = Report("socket://h:1", screen="http://h/screen.png")
    report.results = [_result("a", Status.PASS, duration_s=0.123456, transcript=("-> PING",))]
    doc = json.loads(to_json(report))
    assert doc["ok"] and (doc["passed"], doc["failed"], doc["skipped"]) == (1, 0, 0)
    assert doc["screen"] == "http://h/screen.png" and doc["device"] == {}
    check = doc["checks"][0]
    assert check["status"] == "pass" and check["duration_s"] == 0.1235
    assert "transcript" not in check
    assert json.loads(to_json(report, verbose=True))["checks"][0]["transcript"] == ["-> PING"]
    assert "no HELLO_ACK" in render_text(report)
