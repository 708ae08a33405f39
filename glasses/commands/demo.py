"""``glasses demo``: the display simulator, started and driven through a scripted walk.

It starts ``glasses-sim display`` as its own process (the real protocol over a real pty),
connects to it like to real glasses, and shows captions, a paged answer and the status bar,
saving a PNG of the simulated screen after each step. With ``--hold`` it stays up: the live
page's buttons page through the answer.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from glasses.errors import GlassesError

DEFAULT_OUT: Final = Path("out/demo")
DEFAULT_WEB_PORT: Final = 8765
STEP_TIMEOUT_S: Final = 20.0

CAPTION_SCRIPT: Final = (
    ("partial", "下一站"),
    ("partial", "下一站是西湖"),
    ("final", "下一站是西湖。"),
    ("final", "Next stop: West Lake."),
    ("partial", "请在"),
    ("final", "请在前门下车。"),
    ("final", "Please exit by the front door."),
)
ANSWER: Final = (
    "West Lake (西湖) is a freshwater lake in Hangzhou. The causeways Su Di and Bai Di "
    "cross it; a walk around the lake takes about three hours. Boats leave from the pier "
    "near Hubin Road every 15 minutes until 17:30, tickets 55 yuan. 断桥残雪 (Broken Bridge) "
    "is a ten-minute walk north of the pier. Leifeng Pagoda, on the south shore, opens at "
    "8:00; the evening light show over the water starts at 19:30 in summer. The nearest "
    "metro is Longxiangqiao on line 1, exit B."
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the demo on the display simulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--profile",
        default="640x400x4",
        help="simulated display: 640x400x4, 576x136x1 or 128x64x1 (default 640x400x4)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"PNG snapshots go here (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--web-port",
        type=int,
        default=DEFAULT_WEB_PORT,
        help=f"live page on http://127.0.0.1:PORT (default {DEFAULT_WEB_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--step-s", type=float, default=0.6, help="pause between steps, to watch (default 0.6)"
    )
    parser.add_argument(
        "--hold", action="store_true", help="stay up after the walk until Ctrl-C; buttons page"
    )
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class _Step:
    name: str
    screen: Any  # glasses.display.views.Screen


def _steps(renderer: Any) -> Iterator[_Step]:
    from glasses.display.views import CaptionView, LinkState, Mode, Screen, StatusBar, TextView

    status = StatusBar(mode=Mode.CAPTIONS, link=LinkState.CONNECTED, battery_percent=82)
    yield _Step("welcome", Screen(TextView("glasses demo: simulator connected. 你好！"), status))
    captions = CaptionView(max_lines=3)
    for i, (kind, text) in enumerate(CAPTION_SCRIPT):
        captions = captions.with_partial(text) if kind == "partial" else captions.with_final(text)
        yield _Step(f"caption-{i + 1}", Screen(captions, status))
    assist = StatusBar(mode=Mode.ASSIST, link=LinkState.CONNECTED, battery_percent=81)
    page = renderer.page_view(ANSWER)
    for _ in range(page.page_count):
        yield _Step(f"answer-page-{page.page_index + 1}", Screen(page, assist))
        page = page.next_page()


def run(args: argparse.Namespace) -> int:
    from firmware_bridge.config import LinkConfig
    from firmware_bridge.errors import LinkError
    from firmware_bridge.link import DisplayLink
    from glasses.display.compositor import Compositor
    from glasses.display.geometry import DisplayGeometry
    from glasses.display.raster import Renderer
    from hw_sim.launcher import SimulatorProcess, SimulatorStartError

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="glasses-demo-") as tmp:
        sim_args = ["--pty", "--link", str(Path(tmp) / "tty"), "--profile", args.profile]
        sim_args += ["--web-port", str(args.web_port), "-q"]
        try:
            sim = SimulatorProcess(*sim_args, log_path=Path(tmp) / "sim.log")
        except SimulatorStartError as exc:
            raise GlassesError(f"{exc}\nIs port {args.web_port} in use? Try --web-port 0.") from exc
        with sim:
            print(f"simulated glasses on {sim.url}; watch them at {sim.web}", flush=True)
            try:
                with DisplayLink(LinkConfig(url=sim.url), Compositor.for_device) as link:
                    info = link.wait_connected(STEP_TIMEOUT_S)
                    geometry = DisplayGeometry(info.width_px, info.height_px, info.bpp)
                    renderer = Renderer(geometry)
                    print(f"connected to {info.board_id} ({geometry.name})", flush=True)
                    for step in _steps(renderer):
                        _show(link, renderer, step, sim, out, args.step_s)
                    stats = link.stats
                    print(
                        f"done: {stats.presents_acked} screens, {stats.bytes_tx} bytes sent, "
                        f"{stats.retransmits} retransmits; PNG snapshots in {out}/",
                        flush=True,
                    )
                    if args.hold:
                        _hold(link, renderer)
            except LinkError as exc:
                raise GlassesError(f"demo: {exc}") from exc
    return 0


def _show(link: Any, renderer: Any, step: _Step, sim: Any, out: Path, step_s: float) -> None:
    link.show(renderer.render(step.screen))
    if not link.wait_presented(STEP_TIMEOUT_S):
        raise GlassesError(f"demo: the simulator did not confirm screen {step.name!r}")
    path = (out / f"{step.name}.png").resolve()
    status, reply = sim.post("/api/snapshot", {"path": str(path)})
    if status != 200:
        raise GlassesError(f"demo: snapshot {path} failed: {reply}")
    print(f"  {step.name:<16} -> {path}", flush=True)
    time.sleep(step_s)  # so a person watching the live page can follow


def _hold(link: Any, renderer: Any) -> None:
    from firmware_bridge.protocol.messages import Event, EventKind, SwipeDirection
    from glasses.display.views import LinkState, Mode, PageButton, Screen, StatusBar

    page = renderer.page_view(ANSWER)
    status = StatusBar(mode=Mode.ASSIST, link=LinkState.CONNECTED, battery_percent=81)
    link.show(renderer.render(Screen(page, status)))
    print("holding: press the buttons on the live page to page; Ctrl-C to stop", flush=True)
    while True:
        event = link.get_event(timeout_s=1.0)
        if event is None or not isinstance(event.message, Event):
            continue
        msg = event.message
        if msg.kind == EventKind.BUTTON or (
            msg.kind == EventKind.SWIPE and msg.code == SwipeDirection.FORWARD
        ):
            page = page.on_button(PageButton.NEXT)
        elif msg.kind == EventKind.SWIPE and msg.code == SwipeDirection.BACKWARD:
            page = page.on_button(PageButton.PREVIOUS)
        elif msg.kind == EventKind.BATTERY:
            status = StatusBar(
                mode=status.mode,
                link=status.link,
                battery_percent=msg.code,
                charging=bool(msg.value),
            )
        link.show(renderer.render(Screen(page, status)))
