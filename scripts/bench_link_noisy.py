#!/usr/bin/env python3
"""Display link benchmark on a noisy wire: what a screen update costs when bytes are lost.

    python scripts/bench_link_noisy.py                      # 0, 0.1, 0.5 and 1 % byte loss
    python scripts/bench_link_noisy.py --quick              # a smoke run: 0 and 0.1 %, 1 update
    python scripts/bench_link_noisy.py --loss 0,1 --reps 5 --json out.json
    python scripts/bench_link_noisy.py --write docs/benchmarks.md  # also rewrite its docs section

Times the ``caption-scroll`` and ``page`` updates of ``scripts/bench_link.py`` (its cases and
helpers, imported from there) on 640x400x4 at 921600 baud while the simulator process loses
each byte with a given probability in both directions (``glasses-sim display --drop-rate``,
always with the same ``--seed``), plus 128x64x1 at 0 and 1 %. Every loss rate runs in a fresh
simulator and link, so the link's FrameSizeGovernor learns the wire from scratch during an
untimed first screen; then every repetition shows the ``before`` screen untimed and times the
update from ``DisplayLink.show`` until ``wait_presented`` returns. Per update it counts the
link's bytes, frames, retransmissions and NAKs; an update not acknowledged within the cap
(``--cap``) is reported as "> cap". It prints a Markdown section (table and "Reading the
numbers"); ``--write`` puts it into a Markdown file, between the ``bench_link_noisy`` markers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "scripts"):  # run as a plain script from a checkout
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_link import (  # noqa: E402
    BITS_PER_BYTE,
    CONNECT_TIMEOUT_S,
    Case,
    _ms,
    _show,
    build_cases,
    machine,
    materialize,
    wire_bytes,
)

from firmware_bridge.compositor import Compositor  # noqa: E402
from firmware_bridge.config import LinkConfig  # noqa: E402
from firmware_bridge.link import DisplayLink  # noqa: E402
from firmware_bridge.protocol import encode_payload  # noqa: E402
from firmware_bridge.protocol.messages import Message  # noqa: E402
from glasses.display.raster import Renderer  # noqa: E402
from hw_sim.launcher import SimulatorProcess  # noqa: E402
from hw_sim.profiles import PROFILES, Profile  # noqa: E402

# One profile and baud rate, the two expensive cases of bench_link.py, byte loss rates.
NOISY_BAUD: Final = 921_600
NOISY_PROFILE: Final = "640x400x4"
NOISY_CASES: Final = ("caption-scroll", "page")  # in this order: the page's "before" screen
# is the scroll's "after" screen, so the first page update needs no untimed screen first.
NOISY_LOSSES: Final = (0.0, 0.001, 0.005, 0.01)  # probability that a byte is lost, each way
QUICK_NOISY_LOSSES: Final = (0.0, 0.001)
SMALL_PANEL: Final = "128x64x1"  # the panel tests/test_e2e_link.py runs at the full 1 %
SMALL_PANEL_LOSSES: Final = (0.0, 0.01)
NOISY_SEED: Final = 1  # the simulator's fault generator: the same draws for every run
NOISY_REPS: Final = 3
QUICK_NOISY_REPS: Final = 1
NOISY_CAP_S: Final = 45.0  # a timed update not acknowledged by then is reported as "> 45 s"
QUICK_NOISY_CAP_S: Final = 10.0
NOISY_CASE_BUDGET_S: Final = 45.0  # no further repetition of a case at one rate after this
UNTIMED_TIMEOUT_S: Final = 120.0  # an untimed screen (first screen, "before") may take this
MARK_START: Final = "<!-- bench_link_noisy:start -->"
MARK_END: Final = "<!-- bench_link_noisy:end -->"


# -- measurements -------------------------------------------------------------------------


@dataclass
class NoisyUpdate:
    """One timed update on a lossy wire; the counts are deltas of ``DisplayLink.stats``."""

    time_ms: float
    presented: bool  # False: not acknowledged within the cap (the counts cover the cap only)
    bytes_tx: int  # host to display, retransmissions, PINGs and HELLOs included
    frames_tx: int
    retransmits: int
    naks: int
    new_sessions: int  # sessions started during the update (each resends the whole screen)
    frame_payload: int | None  # the FrameSizeGovernor's limit when the update started
    frame_payload_end: int | None
    once_bytes: int | None  # the update's messages cut to ``frame_payload``, framed, sent once


@dataclass
class NoisyCell:
    """One case at one loss rate."""

    case: str
    payload_bytes: int  # the compositor's messages at the device's max payload, unframed
    updates: list[NoisyUpdate] = field(default_factory=list)
    not_run: str | None = None

    @property
    def capped(self) -> bool:
        return any(not u.presented for u in self.updates)

    @property
    def median_ms(self) -> float | None:
        """Median time to screen (the upper median of an even count); None if it is beyond
        the cap or nothing was timed."""
        if not self.updates:
            return None
        value = statistics.median_high(
            [u.time_ms if u.presented else math.inf for u in self.updates]
        )
        return None if math.isinf(value) else value

    @property
    def goodput_kb_s(self) -> float | None:
        """Payload bytes per ms = kB/s (1 kB = 1000 B): an upper bound when capped."""
        median = self.median_ms
        if median is not None:
            return self.payload_bytes / median
        if self.updates:
            return self.payload_bytes / max(u.time_ms for u in self.updates)
        return None

    @property
    def wire_ratio(self) -> float:
        return sum(u.bytes_tx for u in self.updates) / (len(self.updates) * self.payload_bytes)

    @property
    def resent_share(self) -> float:
        return sum(u.retransmits for u in self.updates) / max(
            1, sum(u.frames_tx for u in self.updates)
        )

    def line_busy(self, baud: int) -> float:
        """Share of the time to screen the host's bytes take on the wire at ``baud``."""
        wire_s = sum(u.bytes_tx for u in self.updates) * BITS_PER_BYTE / baud
        return wire_s / (sum(u.time_ms for u in self.updates) / 1000)

    @property
    def resend_factor(self) -> float | None:
        """Bytes sent / the same update's bytes sent once at its frame size."""
        known = [u for u in self.updates if u.once_bytes]
        if not known:
            return None
        return sum(u.bytes_tx for u in known) / sum(u.once_bytes or 0 for u in known)

    @property
    def small_frame_factor(self) -> float | None:
        """The update's bytes sent once at its frame size / the payload bytes."""
        known = [u.once_bytes for u in self.updates if u.once_bytes]
        if not known:
            return None
        return statistics.mean(known) / self.payload_bytes

    @property
    def frame_payloads(self) -> list[int]:
        return sorted(
            {v for u in self.updates for v in (u.frame_payload, u.frame_payload_end) if v}
        )


@dataclass
class NoisyRun:
    """One simulator process and link: a profile at one loss rate."""

    profile: str
    loss: float
    baud: int
    seed: int
    cells: list[NoisyCell]
    first_screen_ms: float | None = None  # untimed: the first full screen after connecting
    first_screen_frame_payload: int | None = None
    wall_s: float = 0.0


def update_messages(case: Case, profile: Profile, max_payload: int | None = None) -> list[Message]:
    """The compositor's messages for ``case``, cut to ``max_payload`` as the link cuts them
    when its FrameSizeGovernor lowers the limit."""
    comp = Compositor(profile.width_px, profile.height_px, profile.bpp, profile.max_payload)
    if max_payload is not None and max_payload < profile.max_payload:
        comp.set_max_payload(max_payload)
    comp.update(case.before)
    return comp.update(materialize(case.after, profile))


def payload_bytes(msgs: Sequence[Message]) -> int:
    return sum(len(encode_payload(msg)) for msg in msgs)


def frame_payload(link: DisplayLink) -> int | None:
    """The payload limit the link's FrameSizeGovernor has settled on (None before the first
    session). DisplayLink does not expose it, so this reads the session's private governor."""
    governor = link._session._frame_size
    return None if governor is None else governor.current


def run_noisy(
    profile: Profile, loss: float, cases: list[Case], reps: int, cap_s: float, budget_s: float
) -> NoisyRun:
    """Time ``cases`` (in order) through a simulator that loses bytes at ``loss``."""
    started = time.perf_counter()
    cells = [NoisyCell(case.key, payload_bytes(update_messages(case, profile))) for case in cases]
    run = NoisyRun(profile.name, loss, NOISY_BAUD, NOISY_SEED, cells)
    once: dict[tuple[str, int], int] = {}

    def once_bytes(case: Case, limit: int | None) -> int | None:
        if limit is None:
            return None
        if (case.key, limit) not in once:
            once[case.key, limit] = wire_bytes(update_messages(case, profile, limit))
        return once[case.key, limit]

    with tempfile.TemporaryDirectory(prefix="bench-link-noisy-") as tmp:
        args = ["--pty", "--link", str(Path(tmp) / "tty"), "--baud", str(NOISY_BAUD)]
        args += ["--profile", profile.name, "--no-web", "-q"]
        args += ["--drop-rate", f"{loss:g}", "--seed", str(NOISY_SEED)]
        with SimulatorProcess(*args, log_path=Path(tmp) / "sim.log") as sim:
            config = LinkConfig(url=sim.url, baud=NOISY_BAUD)
            with DisplayLink(config, Compositor.for_device) as link:
                link.wait_connected(CONNECT_TIMEOUT_S)
                start = time.perf_counter()
                _show(link, cases[0].before)
                if not link.wait_presented(UNTIMED_TIMEOUT_S):
                    for cell in cells:
                        cell.not_run = f"the first screen took over {UNTIMED_TIMEOUT_S:g} s"
                    run.wall_s = time.perf_counter() - started
                    return run
                run.first_screen_ms = (time.perf_counter() - start) * 1000
                run.first_screen_frame_payload = frame_payload(link)
                stuck: str | None = None  # the link is still busy with an update: stop here
                for case, cell in zip(cases, cells, strict=True):
                    case_start = time.perf_counter()
                    rep_s = 0.0
                    for rep in range(reps):
                        if stuck or (rep and time.perf_counter() - case_start + rep_s > budget_s):
                            break
                        rep_start = time.perf_counter()
                        _show(link, case.before)
                        if not link.wait_presented(UNTIMED_TIMEOUT_S):
                            stuck = f"a screen before it took over {UNTIMED_TIMEOUT_S:g} s"
                            break
                        before, limit = link.stats, frame_payload(link)
                        start = time.perf_counter()
                        _show(link, case.after)
                        presented = link.wait_presented(cap_s)
                        elapsed_ms = (time.perf_counter() - start) * 1000
                        after = link.stats
                        cell.updates.append(
                            NoisyUpdate(
                                time_ms=elapsed_ms,
                                presented=presented,
                                bytes_tx=after.bytes_tx - before.bytes_tx,
                                frames_tx=after.frames_tx - before.frames_tx,
                                retransmits=after.retransmits - before.retransmits,
                                naks=after.naks - before.naks,
                                new_sessions=after.reconnects - before.reconnects,
                                frame_payload=limit,
                                frame_payload_end=frame_payload(link),
                                once_bytes=once_bytes(case, limit),
                            )
                        )
                        if not presented:
                            stuck = f"an update before it took over {cap_s:g} s"
                        rep_s = time.perf_counter() - rep_start
                    if stuck and not cell.updates:
                        cell.not_run = stuck
    run.wall_s = time.perf_counter() - started
    return run


def noisy_plan(losses: Sequence[float]) -> list[tuple[Profile, float]]:
    """(profile, loss) of every noisy-wire run, in order."""
    plan = [(PROFILES[NOISY_PROFILE], loss) for loss in losses]
    return plan + [(PROFILES[SMALL_PANEL], loss) for loss in SMALL_PANEL_LOSSES]


def run_noisy_part(
    losses: Sequence[float], reps: int, cap_s: float, budget_s: float
) -> list[NoisyRun]:
    runs: list[NoisyRun] = []
    cases: dict[str, list[Case]] = {}
    for profile, loss in noisy_plan(losses):
        if profile.name not in cases:
            built = {case.key: case for case in build_cases(Renderer(profile.geometry))}
            cases[profile.name] = [built[key] for key in NOISY_CASES]
        print(
            f"noisy wire: {profile.name} at {NOISY_BAUD} baud, {_percent(loss)} of the bytes "
            "lost ...",
            file=sys.stderr,
            flush=True,
        )
        runs.append(run_noisy(profile, loss, cases[profile.name], reps, cap_s, budget_s))
    return runs


# -- report -------------------------------------------------------------------------------


def _percent(loss: float) -> str:
    return f"{100 * loss:g} %"


def _duration(ms: float) -> str:
    return f"{_ms(ms)} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _kb(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def _time_text(cell: NoisyCell, cap_s: float) -> str:
    median = cell.median_ms
    return f"> {cap_s:g} s" if median is None else _duration(median)


def _goodput_text(cell: NoisyCell) -> str:
    value = cell.goodput_kb_s
    if value is None:
        return "-"
    return ("< " if cell.median_ms is None else "") + _kb(value)


NOISY_INTRO: Final = """\
What a screen update costs when the wire loses bytes: the `caption-scroll` ("new final line, 3
lines scroll up") and `page` ("full page replaces the captions") updates of the tables above,
through the simulator process at 921600 baud (emulated) with
`glasses-sim display --pty --baud 921600 --drop-rate R --seed {seed}`: every byte is lost with
probability R, **in both directions** (host to display and back; no bit flips, no added
latency), one draw per byte from a generator seeded the same way in every run. The draws are
reproducible, the bytes they fall on are not quite: retransmission timing and keepalive PINGs
vary a little from run to run. Each loss rate gets a fresh simulator and a fresh `DisplayLink`
with `LinkConfig` defaults (a window of 8 frames, or the device's if smaller: 2 on 128x64x1),
so the link's `FrameSizeGovernor` starts at the device's max payload and learns the wire
during an untimed first screen. Then, as above, every repetition shows the "before" screen
untimed and times the update from `DisplayLink.show()` until `wait_presented()` returns.

- **payload goodput**: the bytes of the compositor's messages for the update at the device's max
  payload (`encode_payload`, unframed: caption-scroll {scroll:,} B, page {page:,} B on
  640x400x4) / median time to screen. kB = 1000 bytes.
- **wire / payload**: bytes the host sent during the timed updates (`LinkStats.bytes_tx`:
  frames, retransmissions, PINGs and HELLOs) / payload bytes.
- **frames resent per update (share)**: median of `LinkStats.retransmits` per update, and
  retransmissions / frames sent over the row. **NAKs**: median of `LinkStats.naks` (NAKs the
  display sent that reached the host).
- **frame payload**: the governor's payload limit at the start and end of each timed update
  (read from the link's session: `DisplayLink` does not expose it); the compositor cuts its
  messages to it.
- **line busy**: the host's bytes at 10 bits per byte and 921600 baud / the time to screen: the
  share of the time the line from the host carried anything (over 100 % for updates of a few
  ms: the simulator lets a 4 ms burst through at once).
- **new sessions**: sessions started during the timed updates (`LinkStats.reconnects`): the
  link starts one when the governor lowers the limit below a frame already queued, or after
  3 s without a frame from the display; a new session resends the whole screen."""


def _noisy_rows(runs: list[NoisyRun], cap_s: float) -> list[str]:
    head = ["panel", "case", "byte loss", "updates timed", "time to screen, median"]
    head += ["payload goodput kB/s", "wire / payload", "frames resent per update (share)"]
    head += ["NAKs per update", "frame payload B", "line busy", "new sessions"]
    lines = ["| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
    for run in runs:
        for cell in run.cells:
            cells = [run.profile, cell.case, _percent(run.loss), str(len(cell.updates))]
            if not cell.updates:
                cells += [f"not run: {cell.not_run}"] + ["-"] * (len(head) - len(cells) - 1)
                lines.append("| " + " | ".join(cells) + " |")
                continue
            bound = ">= " if cell.capped else ""
            retx = statistics.median(u.retransmits for u in cell.updates)
            naks = statistics.median(u.naks for u in cell.updates)
            cells += [_time_text(cell, cap_s), _goodput_text(cell)]
            cells.append(f"{bound}{cell.wire_ratio:.2f}")
            cells.append(f"{bound}{retx:g} ({100 * cell.resent_share:.0f} %)")
            cells.append(f"{bound}{naks:g}")
            cells.append(", ".join(str(v) for v in cell.frame_payloads) or "-")
            cells.append(f"{100 * cell.line_busy(run.baud):.0f} %")
            cells.append(f"{bound}{sum(u.new_sessions for u in cell.updates)}")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _series(runs: list[NoisyRun], profile: str, case: str) -> list[tuple[float, NoisyCell]]:
    return [
        (run.loss, cell)
        for run in runs
        if run.profile == profile
        for cell in run.cells
        if cell.case == case and cell.updates
    ]


def noisy_reading(runs: list[NoisyRun], cap_s: float) -> list[str]:
    """The "Reading the numbers" paragraphs, stated only as far as the numbers go."""
    out: list[str] = []
    goodput: list[str] = []
    for case in NOISY_CASES:
        series = _series(runs, NOISY_PROFILE, case)
        clean = next((c for loss, c in series if loss == 0 and c.median_ms is not None), None)
        parts = []
        for loss, cell in series:
            text = f"{_goodput_text(cell)} at {_percent(loss)}"
            value = cell.goodput_kb_s
            if clean is not None and loss > 0 and value is not None and clean.goodput_kb_s:
                factor = clean.goodput_kb_s / value
                text += f" ({'at least ' if cell.median_ms is None else ''}{factor:.0f}x less)"
            parts.append(text)
        if parts:
            goodput.append(f"{case} {', '.join(parts)}")
    if goodput:
        out.append(f"**Goodput** ({NOISY_PROFILE}, kB/s of payload): " + "; ".join(goodput) + ".")
    split: list[str] = []
    for case in NOISY_CASES:
        parts = []
        for loss, cell in _series(runs, NOISY_PROFILE, case):
            small, resend = cell.small_frame_factor, cell.resend_factor
            if small is None or resend is None or cell.capped:
                continue  # a capped update had not sent everything once yet
            parts.append(f"{cell.wire_ratio:.2f} = {small:.2f} x {resend:.2f} at {_percent(loss)}")
        if parts:
            split.append(f"{case} {', '.join(parts)}")
    if split:
        out.append(
            "**Where the bytes go**: wire / payload = (the update's messages cut to the "
            "governor's frame payload, framed and sent once) / payload x (bytes sent) / (that "
            "once): the first factor is the cost of small frames, the second of resending (and "
            "of PINGs and HELLOs). " + "; ".join(split) + "."
        )
    busy: list[str] = []
    for case in NOISY_CASES:
        parts = []
        for loss, cell in _series(runs, NOISY_PROFILE, case):
            run = next(r for r in runs if r.profile == NOISY_PROFILE and r.loss == loss)
            line = min(1.0, cell.line_busy(run.baud))
            resent = line * cell.resent_share
            parts.append(
                f"{100 * (line - resent):.0f} / {100 * resent:.0f} / {100 * (1 - line):.0f} % "
                f"at {_percent(loss)}" + (f" (its first {cap_s:g} s)" if cell.capped else "")
            )
        if parts:
            busy.append(f"{case} {', '.join(parts)}")
    if busy:
        out.append(
            "**Where the time goes** (share of the time to screen: the line sending first "
            "copies / resending / carrying nothing from the host; resent frames counted at the "
            "row's mean frame length): " + "; ".join(busy) + ". Time with nothing on the line "
            "is time the sender waits: for acknowledgements with a full window, for NAKs, for "
            "retransmit timeouts or for a new session's handshake (these numbers do not say "
            "which)."
        )
    sizes: list[str] = []
    for run in runs:
        if run.profile != NOISY_PROFILE:
            continue
        seen = sorted({v for cell in run.cells for v in cell.frame_payloads})
        sessions = sum(u.new_sessions for cell in run.cells for u in cell.updates)
        if seen:
            sizes.append(
                f"{', '.join(map(str, seen))} B at {_percent(run.loss)}"
                + (f" ({sessions} new sessions while timed)" if sessions else "")
            )
    if sizes:
        device = PROFILES[NOISY_PROFILE].max_payload
        out.append(
            f"**Frame size**: the governor's payload limit ({device} B on a clean wire) during "
            f"the timed updates: " + "; ".join(sizes) + "."
        )
    panel: list[str] = []
    for case in NOISY_CASES:
        series = _series(runs, SMALL_PANEL, case)
        if series:
            panel.append(
                f"{case} "
                + ", ".join(f"{_time_text(c, cap_s)} at {_percent(loss)}" for loss, c in series)
            )
    if panel:
        limit = PROFILES[SMALL_PANEL].max_payload
        out.append(f"**{SMALL_PANEL}** (max payload {limit} B): " + "; ".join(panel) + ".")
    at_one = [
        (case, cell)
        for case in NOISY_CASES
        for loss, cell in _series(runs, NOISY_PROFILE, case)
        if loss == 0.01
    ]
    if at_one:
        measured = ", ".join(f"{_goodput_text(cell)} kB/s for {case}" for case, cell in at_one)
        out.append(f"At 1 % loss go-back-N moves {measured}.")
    return out


def noisy_markdown(
    command: str, info: dict[str, Any], runs: list[NoisyRun], settings: dict[str, Any]
) -> str:
    """The noisy-wire section: what ``--write`` puts between the markers."""
    cap_s: float = settings["cap_s"]
    main = {c.case: c.payload_bytes for r in runs if r.profile == NOISY_PROFILE for c in r.cells}
    intro = NOISY_INTRO.format(
        seed=NOISY_SEED, scroll=main.get("caption-scroll", 0), page=main.get("page", 0)
    )
    niceness = f", niceness {info['nice']}" if info.get("nice") else ""
    lines = [
        "### Noisy wire: lost bytes, go-back-N and small frames",
        "",
        intro,
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
        f"{info['system']}{niceness}; load average {info['noisy_load_before']:.2f} before the "
        f"noisy-wire part, {info['noisy_load_after']:.2f} after; {info['date']}.",
        "",
        *_noisy_rows(runs, cap_s),
        "",
    ]
    notes = [
        f"At most {settings['reps']} timed update{'s' if settings['reps'] > 1 else ''} per "
        "row; no further one once a case at one "
        f"rate has taken {settings['budget_s']:g} s with its untimed screens; each update capped "
        f"at {cap_s:g} s."
    ]
    capped = [
        f"{r.profile} {c.case} at {_percent(r.loss)}" for r in runs for c in r.cells if c.capped
    ]
    if capped:
        notes.append(
            f"Not acknowledged within {cap_s:g} s: {', '.join(capped)}. The counts of such a row "
            f"cover the first {cap_s:g} s only, so they are lower bounds (>=), and its goodput "
            "an upper bound (<); no later update runs on that link."
        )
    first = [
        f"{r.profile} at {_percent(r.loss)}: "
        + (
            "-"
            if r.first_screen_ms is None
            else f"{_duration(r.first_screen_ms)} (then {r.first_screen_frame_payload} B)"
        )
        for r in runs
    ]
    notes.append(
        "Untimed first full screen after connecting (the caption screen, while the governor "
        "learns the wire; frame payload after it): " + "; ".join(first) + "."
    )
    notes.append(f"The noisy-wire part took {sum(r.wall_s for r in runs):.0f} s.")
    lines += [" ".join(notes), "", "#### Reading the numbers", ""]
    for paragraph in noisy_reading(runs, cap_s):
        lines += [paragraph, ""]
    return "\n".join(lines).rstrip("\n")


def noisy_json(runs: list[NoisyRun], settings: dict[str, Any]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for run in runs:
        item = asdict(run)
        for cell, data in zip(run.cells, item["cells"], strict=True):
            data.update(
                capped=cell.capped,
                median_ms=cell.median_ms,
                goodput_kb_s=cell.goodput_kb_s,
                wire_ratio=cell.wire_ratio if cell.updates else None,
                resent_share=cell.resent_share if cell.updates else None,
                line_busy=cell.line_busy(run.baud) if cell.updates else None,
                small_frame_factor=cell.small_frame_factor,
                resend_factor=cell.resend_factor,
                frame_payloads=cell.frame_payloads,
            )
        out.append(item)
    return {**settings, "runs": out}


def write_section(doc: Path, body: str) -> None:
    """Replace what is between the bench_link_noisy markers in ``doc`` with ``body``."""
    text = doc.read_text()
    head, _, rest = text.partition(MARK_START)
    _, _, tail = rest.partition(MARK_END)
    doc.write_text(f"{head}{MARK_START}\n{body}\n{MARK_END}{tail}")


def check_markers(doc: Path) -> None:
    try:
        text = doc.read_text()
    except OSError as exc:
        raise SystemExit(f"--write: cannot read {doc}: {exc}") from None
    if MARK_START not in text or MARK_END not in text.partition(MARK_START)[2]:
        raise SystemExit(f"--write: {doc} has no {MARK_START} ... {MARK_END} markers")


# -- command line -------------------------------------------------------------------------


def _loss_list(text: str) -> list[float]:
    try:
        values = [float(part) / 100 for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected percentages separated by commas: {text!r}"
        ) from None
    if not values or any(not 0 <= v < 1 for v in values):
        raise argparse.ArgumentTypeError("loss rates are percentages from 0 to below 100")
    return values


def _percents(values: Sequence[float]) -> str:
    return ",".join(f"{100 * v:g}" for v in values)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/bench_link_noisy.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: byte loss {_percents(QUICK_NOISY_LOSSES)} %% on {NOISY_PROFILE}, "
        f"{QUICK_NOISY_REPS} timed update per case and rate, capped at {QUICK_NOISY_CAP_S:g} s",
    )
    parser.add_argument(
        "--loss",
        type=_loss_list,
        help=f"byte loss rates on {NOISY_PROFILE} in percent, comma-separated (default "
        f"{_percents(NOISY_LOSSES)}; with --quick {_percents(QUICK_NOISY_LOSSES)}); "
        f"{SMALL_PANEL} always runs at {_percents(SMALL_PANEL_LOSSES)}",
    )
    parser.add_argument(
        "--reps",
        type=int,
        help=f"timed updates per case and rate (default {NOISY_REPS}; with --quick "
        f"{QUICK_NOISY_REPS}); fewer once a case at one rate took {NOISY_CASE_BUDGET_S:g} s",
    )
    parser.add_argument(
        "--cap",
        type=float,
        metavar="S",
        help=f"longest wait for one update, reported as '> S s' (default {NOISY_CAP_S:g}; "
        f"with --quick {QUICK_NOISY_CAP_S:g})",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write the results as JSON ('-': stdout)"
    )
    parser.add_argument(
        "--write",
        type=Path,
        metavar="MD",
        help=f"put the section into this file, between {MARK_START} and {MARK_END}",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(args_list)
    settings: dict[str, Any] = {
        "baud": NOISY_BAUD,
        "seed": NOISY_SEED,
        "losses": args.loss or list(QUICK_NOISY_LOSSES if args.quick else NOISY_LOSSES),
        "reps": args.reps or (QUICK_NOISY_REPS if args.quick else NOISY_REPS),
        "cap_s": args.cap or (QUICK_NOISY_CAP_S if args.quick else NOISY_CAP_S),
        "budget_s": NOISY_CASE_BUDGET_S,
    }
    if settings["reps"] < 1 or settings["cap_s"] <= 0:
        raise SystemExit("--reps and --cap must be positive")
    if args.write is not None:
        check_markers(args.write)  # before minutes of measuring
    command = shlex.join(["python", "scripts/bench_link_noisy.py", *args_list])
    info = machine()
    info["noisy_load_before"] = os.getloadavg()[0]
    runs = run_noisy_part(
        settings["losses"], settings["reps"], settings["cap_s"], settings["budget_s"]
    )
    info["noisy_load_after"] = os.getloadavg()[0]
    report = {"command": command, "machine": info, "noisy": noisy_json(runs, settings)}
    section = noisy_markdown(command, info, runs, settings)
    if args.write is not None:
        write_section(args.write, section)
    if args.json == "-":
        print(json.dumps(report, indent=2))
        return 0
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
