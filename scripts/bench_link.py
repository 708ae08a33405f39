#!/usr/bin/env python3
"""Display link benchmark: bytes on the wire and time to screen for typical screen updates.

    python scripts/bench_link.py                      # 640x400x4, 115200 and 921600 baud
    python scripts/bench_link.py --quick              # a smoke run: few repetitions
    python scripts/bench_link.py --profiles 640x400x4,576x136x1,128x64x1 --json out.json

Cases, each a screen ``before`` followed by a screen ``after``, rendered by the real renderer:

- ``caption-partial``: the partial (still recognised) text of a 3-line caption grows by a word;
- ``caption-scroll``: a new final line arrives in a full 3-line caption, so all three lines
  scroll up by one (the expensive caption update);
- ``page``: a full page of an answer replaces the caption screen;
- ``clear``: the caption screen is cleared (``DisplayLink.clear``).

Bytes are exact and deterministic: the compositor's messages for ``before -> after``, each
framed with ``encode_frame`` (COBS, CRC, delimiter). They are compared with the same rectangles
sent as RAW BLITs (no PackBits) and with the whole ``after`` screen sent as RAW BLITs.
Time to screen is measured through the real simulator process (``glasses-sim display --pty``
with an emulated baud rate): from ``DisplayLink.show`` until ``wait_presented`` returns (the
device acknowledged the PRESENT). Every repetition first shows ``before`` (untimed), so every
timed update really sends. CPU times (``time.thread_time``) of the compositor and the
renderer are measured apart from the link, in this process.

Two of these updates on a wire that loses bytes: ``scripts/bench_link_noisy.py`` (it imports
the cases and helpers from this module).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

from firmware_bridge.compositor import Compositor  # noqa: E402
from firmware_bridge.config import LinkConfig  # noqa: E402
from firmware_bridge.link import DisplayLink  # noqa: E402
from firmware_bridge.protocol import Frame, encode_frame, encode_payload, pixels  # noqa: E402
from firmware_bridge.protocol.messages import (  # noqa: E402
    BLIT_HEADER_LEN,
    Blit,
    Copy,
    Encoding,
    Message,
    Present,
)
from glasses.display.layout import wrap_lines  # noqa: E402
from glasses.display.raster import Renderer  # noqa: E402
from glasses.display.views import (  # noqa: E402
    CaptionView,
    LinkState,
    Mode,
    Screen,
    StatusBar,
)
from hw_sim.launcher import SimulatorProcess  # noqa: E402
from hw_sim.profiles import PROFILES, Profile  # noqa: E402

Levels = npt.NDArray[np.uint8]

DEFAULT_REPS: Final = 20
QUICK_REPS: Final = 3
CPU_REPS: Final = 30
QUICK_CPU_REPS: Final = 5
DEFAULT_BAUDS: Final = (115_200, 921_600)
BITS_PER_BYTE: Final = 10  # 8N1: start bit, 8 data bits, stop bit
CONNECT_TIMEOUT_S: Final = 20.0
GOAL_SHARE: Final = 0.10  # the goal: a one-line caption update < 10 % of a raw frame

# Our own sample speech, lower case without punctuation as a recogniser streams it.
TRANSCRIPT: Final = (
    "good morning everyone and thanks for coming to the weekly demo of the glasses "
    "today we want to show how the captions follow a conversation in real time "
    "the microphone picks up the speaker and the recogniser sends words as it hears them "
    "then the host draws the text and sends only the pixels that changed to the display "
    "over a slow serial line so every byte we save makes the captions feel faster "
    "after that we will look at translation and at reading signs with the camera "
    "and at the end there is time for questions about battery life and comfort"
)
ANSWER: Final = (
    "The bench measures what a screen update costs on the serial link between the host and "
    "the display. A caption update sends only the rows and columns that changed, coded with "
    "PackBits when that is smaller; a new page sends most of the screen; a clear is a single "
    "short command. At 115200 baud a byte takes 87 microseconds, so a full raw frame of "
    "128000 bytes needs more than eleven seconds, while at 921600 baud it still needs about "
    "1.4 seconds. That is why the compositor mirrors the device and never resends what the "
    "panel already shows. Long answers are split into pages; the buttons on the frame move "
    "between them, and the page indicator in the corner tells where you are."
)
CASE_TITLES: Final = {
    "caption-partial": "caption: partial text grows by a word",
    "caption-wrap": "caption: partial wraps to a new line, 3 lines scroll up",
    "caption-scroll": "caption: new final line, 3 lines scroll up",
    "page": "full page replaces the captions",
    "clear": "full-screen clear",
}


@dataclass
class Case:
    key: str
    before: Levels
    after: Levels | int  # an int: the whole screen at that level (DisplayLink.clear)
    after_screen: Screen | None  # what ``after`` was rendered from, to time the renderer


@dataclass
class LinkRun:
    baud: int
    time_ms: list[float] = field(default_factory=list)
    bytes_tx: list[int] = field(default_factory=list)
    retransmits: int = 0
    wire_time_ms: float = 0.0  # the wire bytes at this baud, nothing else

    @property
    def median_ms(self) -> float:
        return statistics.median(self.time_ms)

    @property
    def p90_ms(self) -> float:
        return float(np.percentile(self.time_ms, 90))


@dataclass
class CaseResult:
    key: str
    title: str
    messages: int
    blits: int
    copies: int
    wire_bytes: int
    raw_same_rects_bytes: int
    full_raw_frame_bytes: int
    compositor_cpu_ms: float
    render_cpu_ms: float | None
    runs: dict[int, LinkRun] = field(default_factory=dict)

    @property
    def share_of_full_raw(self) -> float:
        return self.wire_bytes / self.full_raw_frame_bytes


# -- bytes --------------------------------------------------------------------------------


def wire_bytes(msgs: Sequence[Message]) -> int:
    """Exact bytes on the wire of ``msgs`` as frames (seq/ack 1: a mid-session header)."""
    return sum(
        len(encode_frame(Frame(type=msg.TYPE, seq=1, ack=1, payload=encode_payload(msg))))
        for msg in msgs
    )


def packed_rows(levels: Levels, bpp: int) -> Levels:
    packed = np.frombuffer(pixels.pack(levels, bpp), dtype=np.uint8)
    return packed.reshape(levels.shape[0], -1)


def raw_blits(
    packed: Levels, ppb: int, budget: int, y: int, col: int, rows: int, cols: int
) -> list[Blit]:
    """RAW BLITs covering ``rows`` x ``cols`` packed bytes at (``col``, ``y``), each payload
    at most ``budget`` pixel bytes: strips of columns, then bands of rows."""
    out: list[Blit] = []
    for c0 in range(col, col + cols, budget):
        width = min(budget, col + cols - c0)
        per_blit = max(1, budget // width)
        for r0 in range(y, y + rows, per_blit):
            height = min(per_blit, y + rows - r0)
            data = packed[r0 : r0 + height, c0 : c0 + width].tobytes()
            out.append(Blit(c0 * ppb, r0, width * ppb, height, Encoding.RAW, data))
    return out


def as_raw(msgs: Sequence[Message], target: Levels, profile: Profile) -> list[Message]:
    """``msgs`` with every BLIT's rectangle sent RAW (cut to the payload limit); COPY and the
    other messages stay as they are."""
    packed = packed_rows(target, profile.bpp)
    ppb = pixels.pixels_per_byte(profile.bpp)
    budget = profile.max_payload - BLIT_HEADER_LEN
    out: list[Message] = []
    for msg in msgs:
        if isinstance(msg, Blit):
            out += raw_blits(
                packed, ppb, budget, msg.y, msg.x // ppb, msg.height_px, msg.width_px // ppb
            )
        else:
            out.append(msg)
    return out


def full_raw_frame(target: Levels, profile: Profile) -> list[Message]:
    """The whole screen as RAW BLITs plus a PRESENT: what a host without a compositor sends."""
    packed = packed_rows(target, profile.bpp)
    budget = profile.max_payload - BLIT_HEADER_LEN
    ppb = pixels.pixels_per_byte(profile.bpp)
    return [*raw_blits(packed, ppb, budget, 0, 0, *packed.shape), Present(1)]


# -- the screens --------------------------------------------------------------------------


class CaptionScript:
    """Builds caption views whose wrapped line count is known, from :data:`TRANSCRIPT`."""

    def __init__(self, renderer: Renderer) -> None:
        layout = renderer.layout
        self._measure = layout.body.measure
        self._width = layout.body_box(with_status=True).width_px
        self._words: Iterator[str] = iter(TRANSCRIPT.split())
        self._pending: str | None = None

    def lines(self, view: CaptionView) -> int:
        text, _ = view.joined()
        return len(wrap_lines(text, self._measure, self._width)) if text else 0

    def _next_word(self) -> str:
        word, self._pending = self._pending, None
        return word if word is not None else next(self._words)

    def fill(self, view: CaptionView, max_lines: int, *, final: bool) -> list[str]:
        """The most words that, added to ``view`` as one final segment (or as its partial
        text), keep it within ``max_lines`` wrapped lines."""
        words: list[str] = []
        while True:
            word = self._next_word()
            text = " ".join([*words, word])
            added = view.with_final(text) if final else view.with_partial(text)
            if self.lines(added) > max_lines:
                self._pending = word
                break
            words.append(word)
        if len(words) < 2:
            raise ValueError(f"two words do not fit on a line {self._width} px wide")
        return words

    def next_word(self) -> str:
        return self._next_word()


def build_cases(renderer: Renderer) -> list[Case]:
    status = StatusBar(Mode.CAPTIONS, LinkState.CONNECTED, battery_percent=76)
    script = CaptionScript(renderer)
    view = CaptionView(max_lines=3)
    for n in (1, 2, 3):  # three final segments, each filling one line
        view = view.with_final(" ".join(script.fill(view, n, final=True)))
    # One more final segment, a full line: the three visible lines scroll up by one.
    scrolled = view.with_final(" ".join(script.fill(view, 4, final=True)))
    # Then the recogniser streams the next line as partial text, a word at a time: the last
    # word that still fits on the new line, then the first word that wraps (a scroll).
    partial = script.fill(scrolled, 5, final=False)
    wrapped = [*partial, script.next_word()]
    views = [scrolled.with_partial(" ".join(words)) for words in (partial[:-1], partial, wrapped)]
    if [script.lines(v) for v in views] != [5, 5, 6]:
        raise RuntimeError("the caption script did not wrap as planned")

    def render(view: CaptionView) -> Levels:
        return renderer.render(Screen(view, status))

    caption = render(scrolled)
    page_screen = Screen(
        renderer.page_view(ANSWER), StatusBar(Mode.ASSIST, LinkState.CONNECTED, 76)
    )
    return [
        Case("caption-partial", render(views[0]), render(views[1]), Screen(views[1], status)),
        Case("caption-wrap", render(views[1]), render(views[2]), Screen(views[2], status)),
        Case("caption-scroll", render(view), caption, Screen(scrolled, status)),
        Case("page", caption, renderer.render(page_screen), page_screen),
        Case("clear", caption, 0, None),
    ]


def materialize(target: Levels | int, profile: Profile) -> Levels:
    if isinstance(target, int):
        return np.full((profile.height_px, profile.width_px), target, dtype=np.uint8)
    return target


# -- measurements -------------------------------------------------------------------------


def cpu_ms(fn: Any, reps: int) -> float:
    """Median CPU time of ``fn()`` on this thread, in ms."""
    times = []
    for _ in range(reps):
        start = time.thread_time()
        fn()
        times.append((time.thread_time() - start) * 1000)
    return statistics.median(times)


def compositor_cpu_ms(case: Case, profile: Profile, reps: int) -> float:
    after = materialize(case.after, profile)
    times = []
    for _ in range(reps):
        comp = Compositor(profile.width_px, profile.height_px, profile.bpp, profile.max_payload)
        comp.update(case.before)
        start = time.thread_time()
        comp.update(after)
        times.append((time.thread_time() - start) * 1000)
    return statistics.median(times)


def measure_bytes(case: Case, profile: Profile, renderer: Renderer, cpu_reps: int) -> CaseResult:
    comp = Compositor(profile.width_px, profile.height_px, profile.bpp, profile.max_payload)
    comp.update(case.before)
    after = materialize(case.after, profile)
    msgs = comp.update(after)
    screen = case.after_screen
    return CaseResult(
        key=case.key,
        title=CASE_TITLES[case.key],
        messages=len(msgs),
        blits=sum(isinstance(msg, Blit) for msg in msgs),
        copies=sum(isinstance(msg, Copy) for msg in msgs),
        wire_bytes=wire_bytes(msgs),
        raw_same_rects_bytes=wire_bytes(as_raw(msgs, after, profile)),
        full_raw_frame_bytes=wire_bytes(full_raw_frame(after, profile)),
        compositor_cpu_ms=compositor_cpu_ms(case, profile, cpu_reps),
        render_cpu_ms=None if screen is None else cpu_ms(lambda: renderer.render(screen), cpu_reps),
    )


def _show(link: DisplayLink, target: Levels | int) -> None:
    if isinstance(target, int):
        link.clear(target)
    else:
        link.show(target)


def run_link(
    profile: Profile, baud: int, cases: list[Case], results: list[CaseResult], reps: int
) -> None:
    """Time every case ``reps`` times through the simulator process at ``baud``."""
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmp:
        args = ["--pty", "--link", str(Path(tmp) / "tty"), "--baud", str(baud)]
        args += ["--profile", profile.name, "--no-web", "-q"]
        with SimulatorProcess(*args, log_path=Path(tmp) / "sim.log") as sim:
            config = LinkConfig(url=sim.url, baud=baud)
            with DisplayLink(config, Compositor.for_device) as link:
                link.wait_connected(CONNECT_TIMEOUT_S)
                for case, result in zip(cases, results, strict=True):
                    run = LinkRun(baud, wire_time_ms=result.wire_bytes * BITS_PER_BYTE / baud * 1e3)
                    # Generous: ten times the wire time of a full raw frame, at least 10 s.
                    timeout_s = max(10.0, 10 * result.full_raw_frame_bytes * BITS_PER_BYTE / baud)
                    for _ in range(reps):
                        _show(link, case.before)
                        if not link.wait_presented(timeout_s):
                            raise RuntimeError(f"{case.key}: the simulator did not present")
                        before = link.stats
                        start = time.perf_counter()
                        _show(link, case.after)
                        if not link.wait_presented(timeout_s):
                            raise RuntimeError(f"{case.key}: the simulator did not present")
                        run.time_ms.append((time.perf_counter() - start) * 1000)
                        after = link.stats
                        run.bytes_tx.append(after.bytes_tx - before.bytes_tx)
                        run.retransmits += after.retransmits - before.retransmits
                    result.runs[baud] = run


# -- report -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                model = value.strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "nice": os.nice(0),
        "date": time.strftime("%Y-%m-%d"),
    }


def _ms(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _time_cell(run: LinkRun | None) -> str:
    if run is None or not run.time_ms:
        return "-"
    return f"{_ms(run.median_ms)} / {_ms(run.p90_ms)} (wire {_ms(run.wire_time_ms)})"


def _bytes_tx_cell(result: CaseResult) -> str:
    values = sorted({int(statistics.median(run.bytes_tx)) for run in result.runs.values()})
    return " / ".join(f"{v:,}" for v in values) if values else "-"


def markdown(command: str, info: dict[str, Any], profiles: list[dict[str, Any]]) -> str:
    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
        f"{info['system']}; load average {info['load_before']:.2f} before, "
        f"{info['load_after']:.2f} after.",
    ]
    for entry in profiles:
        profile: Profile = entry["profile"]
        results: list[CaseResult] = entry["results"]
        bauds: list[int] = entry["bauds"]
        pixel_bytes = profile.width_px * profile.height_px * profile.bpp // 8
        lines += [
            "",
            f"### {profile.name} (max payload {profile.max_payload} B, full frame "
            f"{pixel_bytes:,} pixel bytes)",
            "",
        ]
        head = ["case", "msgs (BLITs, COPYs)", "wire bytes", "link bytes_tx", "raw, same rects"]
        head += ["full raw frame", "vs full raw"]
        head += [f"{baud} baud: median / p90 ms" for baud in bauds]
        head += ["compositor CPU ms", "render CPU ms"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for r in results:
            cells = [r.title, f"{r.messages} ({r.blits}, {r.copies})", f"{r.wire_bytes:,}"]
            cells.append(_bytes_tx_cell(r))
            cells += [f"{r.raw_same_rects_bytes:,}", f"{r.full_raw_frame_bytes:,}"]
            cells.append(f"{100 * r.share_of_full_raw:.1f} %")
            cells += [_time_cell(r.runs.get(baud)) for baud in bauds]
            cells.append(_ms(r.compositor_cpu_ms))
            cells.append("-" if r.render_cpu_ms is None else _ms(r.render_cpu_ms))
            lines.append("| " + " | ".join(cells) + " |")
        if any(r.runs for r in results):
            reps = max(len(run.time_ms) for r in results for run in r.runs.values())
            resent = [
                f"{r.key} at {baud} baud: {run.retransmits}"
                for r in results
                for baud, run in r.runs.items()
                if run.retransmits
            ]
            lines += [
                "",
                f"{reps} timed repetitions per cell; wire = wire bytes x 10 / baud. "
                f"Frames retransmitted while timed: {'; '.join(resent) if resent else 'none'}.",
            ]
    return "\n".join(lines)


def to_json(command: str, info: dict[str, Any], profiles: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"command": command, "machine": info, "profiles": []}
    for entry in profiles:
        profile: Profile = entry["profile"]
        cases = []
        for r in entry["results"]:
            item = asdict(r)
            item["share_of_full_raw"] = r.share_of_full_raw
            item["runs"] = {
                str(baud): {**asdict(run), "median_ms": run.median_ms, "p90_ms": run.p90_ms}
                for baud, run in r.runs.items()
            }
            cases.append(item)
        out["profiles"].append(
            {
                "profile": profile.name,
                "max_payload": profile.max_payload,
                "full_frame_pixel_bytes": profile.width_px * profile.height_px * profile.bpp // 8,
                "cases": cases,
            }
        )
    return out


# -- command line -------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas: {text!r}"
        ) from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("baud rates must be positive")
    return values


def _profile_list(text: str) -> list[Profile]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in PROFILES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"profiles are {', '.join(PROFILES)}; got {text!r}")
    return [PROFILES[name] for name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/bench_link.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--reps", type=int, help=f"timed updates per case and baud (default {DEFAULT_REPS})"
    )
    parser.add_argument(
        "--baud",
        type=_int_list,
        default=list(DEFAULT_BAUDS),
        help="emulated baud rates, comma-separated (default 115200,921600)",
    )
    parser.add_argument(
        "--profiles",
        type=_profile_list,
        default=[PROFILES["640x400x4"]],
        help="simulated displays, comma-separated (default 640x400x4)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"a smoke run: {QUICK_REPS} repetitions"
    )
    parser.add_argument("--no-sim", action="store_true", help="bytes and CPU only, no link runs")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the results as JSON ('-': stdout)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(args_list)
    reps = args.reps if args.reps is not None else QUICK_REPS if args.quick else DEFAULT_REPS
    if reps < 1:
        raise SystemExit("--reps must be at least 1")
    cpu_reps = QUICK_CPU_REPS if args.quick else CPU_REPS
    command = shlex.join(["python", "scripts/bench_link.py", *args_list])
    info = machine()
    info["load_before"] = os.getloadavg()[0]
    profiles: list[dict[str, Any]] = []
    for profile in args.profiles:
        renderer = Renderer(profile.geometry)
        cases = build_cases(renderer)
        results = [measure_bytes(case, profile, renderer, cpu_reps) for case in cases]
        bauds: list[int] = [] if args.no_sim else args.baud
        for baud in bauds:
            print(f"timing {profile.name} at {baud} baud ...", file=sys.stderr, flush=True)
            run_link(profile, baud, cases, results, reps)
        profiles.append({"profile": profile, "results": results, "bauds": bauds})
    info["load_after"] = os.getloadavg()[0]
    report = to_json(command, info, profiles)
    if args.json == "-":
        print(json.dumps(report, indent=2))
        return 0
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(command, info, profiles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
