"""Smoke test of scripts/bench_link_noisy.py: one quick run through the simulator process with
seeded byte loss, and its report formatting offline.

Only link counters are checked; times never are.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_link_noisy.py"
ARGS = ["--quick"]
HEADING = "### Noisy wire: lost bytes, go-back-N and small frames"
COLUMNS = [
    "panel",
    "case",
    "byte loss",
    "updates timed",
    "time to screen, median",
    "payload goodput kB/s",
    "wire / payload",
    "frames resent per update (share)",
    "NAKs per update",
    "frame payload B",
    "line busy",
    "new sessions",
]
# --quick: 640x400x4 at 0 and 0.1 % byte loss, then the small panel at 0 and 1 %.
ROWS = [
    (panel, case, loss)
    for panel, losses in (("640x400x4", (0.0, 0.001)), ("128x64x1", (0.0, 0.01)))
    for loss in losses
    for case in ("caption-scroll", "page")
]
MARK_START = "<!-- bench_link_noisy:start -->"
MARK_END = "<!-- bench_link_noisy:end -->"


def percent(loss: float) -> str:
    return f"{100 * loss:g} %"


pytest.importorskip("hw_sim.launcher")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_link_noisy", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], str]:
    """The printed section, the JSON report and the Markdown file ``--write`` rewrote."""
    from glasses.display.fonts import FontNotFoundError, find_font

    try:
        find_font()
    except FontNotFoundError as exc:
        pytest.skip(f"no font to render with: {exc}")
    tmp = tmp_path_factory.mktemp("bench-link-noisy")
    out, doc = tmp / "bench.json", tmp / "benchmarks.md"
    doc.write_text(f"# B\n\nbefore\n\n{MARK_START}\nold\n{MARK_END}\n\nafter\n")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *ARGS, "--json", str(out), "--write", str(doc)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(out.read_text()), doc.read_text()


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def cells_of(report: dict[str, Any]) -> dict[tuple[str, str, float], dict[str, Any]]:
    return {
        (run["profile"], cell["case"], run["loss"]): cell
        for run in report["noisy"]["runs"]
        for cell in run["cells"]
    }


def test_the_table_has_a_row_per_case_and_loss_rate(
    bench: tuple[str, dict[str, Any], str],
) -> None:
    stdout = bench[0]
    assert stdout.startswith(HEADING + "\n")
    assert f"Command: `python scripts/bench_link_noisy.py {' '.join(ARGS)} --json " in stdout
    assert "#### Reading the numbers" in stdout
    head, rule, *rows = table_rows(stdout)
    assert head == COLUMNS
    assert len(rule) == len(head)
    assert [tuple(row[:3]) for row in rows] == [(p, c, percent(loss)) for p, c, loss in ROWS]
    for row in rows:
        assert len(row) == len(head), row
        assert row[3] == "1", row  # --quick: one timed update per case and rate
        assert not row[4].startswith("not run"), row


def test_a_clean_wire_resends_nothing_and_a_lossy_one_resends(
    bench: tuple[str, dict[str, Any], str],
) -> None:
    stdout, report, _ = bench
    assert report["command"].startswith("python scripts/bench_link_noisy.py --quick")
    assert report["noisy"]["seed"] == 1 and report["noisy"]["baud"] == 921600
    cells = cells_of(report)
    assert list(cells) == ROWS
    printed = {tuple(row[:3]): row for row in table_rows(stdout)[2:]}
    for (panel, case, loss), cell in cells.items():
        assert cell["updates"], (panel, case, loss, cell["not_run"])
        clean = cells[panel, case, 0.0]
        row = printed[panel, case, percent(loss)]
        if loss == 0:
            assert [u["retransmits"] for u in cell["updates"]] == [0], (panel, case)
            assert row[7] == "0 (0 %)", row
            assert cell["wire_ratio"] > 1.0, (panel, case)  # framed: more bytes, never fewer
            continue
        assert sum(u["retransmits"] for u in cell["updates"]) > 0, (panel, case, loss)
        assert cell["wire_ratio"] > clean["wire_ratio"], (panel, case, loss)
        assert float(row[6].lstrip(">= ")) > float(printed[panel, case, "0 %"][6]), row
        # The governor cut the frames below the device's limit on the lossy wire.
        assert max(cell["frame_payloads"]) < max(clean["frame_payloads"]), (panel, case, loss)


def test_write_put_the_printed_section_between_the_markers(
    bench: tuple[str, dict[str, Any], str],
) -> None:
    stdout, _, doc = bench
    assert doc == f"# B\n\nbefore\n\n{MARK_START}\n{stdout.rstrip()}\n{MARK_END}\n\nafter\n"


def test_the_section_marks_capped_and_skipped_updates() -> None:
    bl = load_script()
    update = bl.NoisyUpdate(
        time_ms=10_000.0,
        presented=False,
        bytes_tx=30_000,
        frames_tx=600,
        retransmits=400,
        naks=50,
        new_sessions=1,
        frame_payload=48,
        frame_payload_end=48,
        once_bytes=72_714,
    )
    run = bl.NoisyRun(
        "640x400x4",
        0.01,
        921600,
        1,
        [
            bl.NoisyCell("caption-scroll", 4616, [update]),
            bl.NoisyCell("page", 42029, not_run="an update before it took over 10 s"),
        ],
        first_screen_ms=36_000.0,
        first_screen_frame_payload=48,
        wall_s=50.0,
    )
    info = {**bl.machine(), "noisy_load_before": 0.5, "noisy_load_after": 0.7}
    settings = {"reps": 1, "cap_s": 10.0, "budget_s": 60.0}
    text = bl.noisy_markdown("python scripts/bench_link_noisy.py", info, [run], settings)
    (row, skipped) = table_rows(text)[2:]
    assert row[:5] == ["640x400x4", "caption-scroll", "1 %", "1", "> 10 s"]
    assert row[5] == "< 0.46" and row[6].startswith(">= ")
    assert skipped[4] == "not run: an update before it took over 10 s"
    assert "Not acknowledged within 10 s: 640x400x4 caption-scroll at 1 %" in text


def test_write_replaces_only_the_section(tmp_path: Path) -> None:
    bl = load_script()
    assert (bl.MARK_START, bl.MARK_END) == (MARK_START, MARK_END)
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n\nkept\n")
    with pytest.raises(SystemExit, match="markers"):
        bl.check_markers(doc)
    # main checks the markers before it measures anything.
    with pytest.raises(SystemExit, match="markers"):
        bl.main(["--write", str(doc)])
    doc.write_text(f"# B\n\nbefore\n\n{MARK_START}\nold\n{MARK_END}\n\nafter\n")
    bl.check_markers(doc)
    bl.write_section(doc, "new\nsection")
    assert doc.read_text() == f"# B\n\nbefore\n\n{MARK_START}\nnew\nsection\n{MARK_END}\n\nafter\n"


def test_bad_options_stop_before_measuring() -> None:
    bl = load_script()
    with pytest.raises(SystemExit, match="positive"):
        bl.main(["--reps", "-1"])
    with pytest.raises(SystemExit, match="positive"):
        bl.main(["--cap", "-5"])
    with pytest.raises(SystemExit):  # argparse: not a percentage below 100
        bl.main(["--loss", "100"])
