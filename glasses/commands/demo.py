"""``glasses demo``: the whole daemon on the display simulator, walked through every mode.

It starts ``glasses-sim display`` (the real protocol over a real pty) and runs the daemon
against it with stand-in devices: a microphone fed with speech synthesised now (espeak-ng;
without it, a voice-like buzz), a camera looking at a sign drawn now with Pillow (then at a
product, for LOOK: "what is this?"), and button presses and swipes sent to the simulator, which reports them over the link like real glasses. A PNG of
the screen is saved after each step; watch it live on the simulator's page. Missing models are
named with the command that fetches them, and the demo shows what works without them. With
``--hold`` it stays up: the live page's buttons drive the daemon. Each step waits at most
``--step-timeout-s`` for its effect (the pipeline settled, the screen shown); raise it where
everything is slow (an emulated CPU).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from glasses.commands.llm import finite_float
from glasses.errors import GlassesError

DEFAULT_OUT: Final = Path("out/demo")
DEFAULT_WEB_PORT: Final = 8765
STEP_TIMEOUT_S: Final = 60.0  # per step; the slowest, a read: ~1 s on x86_64, ~40 s under qemu

CAPTIONS: Final = (
    ("下一站是西湖。", "zh"),
    ("Next stop: West Lake.", "en"),
    ("Please exit by the front door.", "en"),
)
TRANSLATE: Final = ("请问火车站在哪里？", "zh")
QUESTION: Final = ("What does the sign say, and how much is a ticket?", "en")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the demo on the display simulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--profile",
        default="640x400x4",
        help="simulated display: 640x400x4, 576x136x1 or 128x64x1 (default 640x400x4)",
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"PNG snapshots (default {DEFAULT_OUT})"
    )
    p.add_argument(
        "--web-port",
        type=int,
        default=DEFAULT_WEB_PORT,
        help=f"live page on http://127.0.0.1:PORT (default {DEFAULT_WEB_PORT}; 0 picks a free one)",
    )
    p.add_argument(
        "--step-s",
        type=float,
        default=0.6,
        help="pause after each step, to watch (default 0.6); 0 also feeds speech faster than real time",
    )
    p.add_argument(
        "--step-timeout-s",
        type=finite_float(0.0, above=True),
        default=STEP_TIMEOUT_S,
        metavar="S",
        help=f"how long a step may take before the demo fails (default {STEP_TIMEOUT_S:g}); "
        "raise it where everything is slow, e.g. under CPU emulation",
    )
    p.add_argument("--hold", action="store_true", help="stay up after the walk until Ctrl-C")
    p.add_argument("--llm-model", metavar="DIR", help="language model folder or name")
    p.add_argument("--asr-model", metavar="DIR", help="speech model folder or name")
    p.add_argument(
        "--vlm-model",
        metavar="DIR",
        help="vision-language model folder or name for LOOK (without one, LOOK reads text)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from hw_sim.launcher import SimulatorProcess, SimulatorStartError
    from hw_sim.profiles import get_profile

    try:
        get_profile(args.profile)  # one clear line now, not the simulator's usage text later
    except ValueError as exc:
        raise GlassesError(f"demo: --profile: {exc}") from None
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="glasses-demo-") as tmp:
        sim_args = ["--pty", "--link", str(Path(tmp) / "tty"), "--profile", args.profile]
        sim_args += ["--web-port", str(args.web_port), "-q"]
        try:
            sim = SimulatorProcess(*sim_args, log_path=Path(tmp) / "sim.log")
        except SimulatorStartError as exc:
            in_use = "in use" in str(exc) and args.web_port
            hint = f"\nIs port {args.web_port} in use? Try --web-port 0." if in_use else ""
            raise GlassesError(f"{exc}{hint}") from exc
        with sim:
            print(f"simulated glasses on {sim.url}; watch them at {sim.web}", flush=True)
            _demo(args, sim, out)
    return 0


def _demo(args: argparse.Namespace, sim: Any, out: Path) -> None:
    from glasses.runtime import media
    from glasses.runtime.daemon import Daemon
    from glasses.runtime.daemon_thread import DaemonThread
    from glasses.runtime.feeds import LoopingImageReader, PushAudioSource
    from glasses.runtime.parts import Parts, add_backend, add_camera, add_recognizer, add_vad
    from glasses.runtime.vision_backend import add_vision
    from glasses.settings import load_settings
    from glasses.sources.camera import ThreadedCamera

    overrides = [f"display.url={sim.url}", "camera.idle_close_s=5"]
    overrides += [f"llm.model={args.llm_model}"] if args.llm_model else []
    overrides += [f"asr.model_dir={args.asr_model}"] if args.asr_model else []
    overrides += [f"look.model={args.vlm_model}"] if args.vlm_model else []
    settings = load_settings(overrides=overrides)
    audio = PushAudioSource(realtime=args.step_s > 0)
    parts = Parts(audio=lambda: audio)
    add_vad(parts)
    if parts.audio is not None:
        add_recognizer(settings, parts)
    add_backend(settings, parts)
    view = LoopingImageReader(media.sign_image(), 15.0)  # the walk turns it to a product
    add_camera(settings, parts, lambda: ThreadedCamera(view))
    add_vision(settings, parts)
    if not media.have_espeak():
        parts.notes.append("espeak-ng not found, speech is a synthetic buzz: apt install espeak-ng")
    for label, folder in _models_in_use(parts):
        print(f"  {label}: {folder}", flush=True)
    for note in parts.notes:
        print(f"  note: {note}", flush=True)
    timeout_s: float = args.step_timeout_s
    runner = DaemonThread(Daemon(settings, parts))
    walk = _Walk(runner, sim, audio, out, args.step_s, view, timeout_s)
    try:
        runner.start(timeout_s)
        walk.run()
        if args.hold:
            print("holding: use the buttons on the live page; Ctrl-C to stop", flush=True)
            while True:
                time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    except TimeoutError as exc:
        raise GlassesError(
            f"demo: {exc} (the step after {walk.last_step}); if this machine is slow "
            f"(an emulated CPU, a busy host), raise --step-timeout-s (now {timeout_s:g})"
        ) from exc
    finally:
        runner.stop()


def _models_in_use(parts: Any) -> list[tuple[str, Path]]:
    """The model folders the demo runs with: given, or found installed (``glasses models``)."""
    asr = getattr(getattr(parts.recognizer, "config", None), "model_dir", None)
    # The local engine (a remote-first router keeps it as its fallback).
    backend = getattr(parts.backend, "local", parts.backend)
    llm = getattr(getattr(getattr(backend, "engine", None), "folder", None), "root", None)
    vision = getattr(backend, "vision", None)  # a PictureRouter's picture side
    vision = getattr(vision, "local", vision)
    vlm = getattr(getattr(getattr(vision, "engine", None), "folder", None), "root", None)
    found = [("speech model", asr), ("language model", llm), ("vision model", vlm)]
    return [(label, Path(folder)) for label, folder in found if folder is not None]


class _Walk:
    """The scripted tour. Every step acts, waits for its effect, then snapshots the screen."""

    def __init__(
        self,
        runner: Any,
        sim: Any,
        audio: Any,
        out: Path,
        step_s: float,
        view: Any,
        timeout_s: float = STEP_TIMEOUT_S,
    ) -> None:
        self.runner, self.sim, self.audio, self.out, self.step_s = runner, sim, audio, out, step_s
        self.view = view  # what the stand-in camera sees
        self.timeout_s = timeout_s
        self.d = runner.daemon
        self.last_step = "the start"  # named when a step times out

    def run(self) -> None:
        from glasses.display.views import Mode
        from glasses.pipeline.messages import AskText

        self.snap("welcome")
        self.snap("caption-1")
        for i, (text, language) in enumerate(CAPTIONS):
            self.say(text, language, partial=f"caption-{2 * i + 2}")
            self.snap(f"caption-{2 * i + 3}")
        self.press("double", Mode.TRANSLATE)
        self.snap("translate-1")
        self.say(*TRANSLATE)
        self.snap("translate-2")
        self.press("double", Mode.READ)
        self.snap("read-1")
        self.press("press")
        self.snap("read-2")
        self.look()
        self.press("double", Mode.ASSIST)
        self.snap("assist-1")
        ctx = self.d.controller.ctx
        if ctx.has_asr:
            self.press("long")
            self.say(*QUESTION)
        else:
            self.runner.post(AskText(QUESTION[0]))
            self.settle()
        assistant = self.d.controller.modes[Mode.ASSIST]
        pages = self.runner.call(lambda: assistant.page.page_count if assistant.page else 1)
        for page in range(pages):
            self.snap(f"answer-page-{page + 1}")
            if page + 1 < pages:
                self.press("press")
        stats = self.d.link.stats
        print(
            f"done: {stats.presents_acked} screens, {stats.bytes_tx} bytes sent, "
            f"{stats.retransmits} retransmits, {stats.crc_errors} CRC errors, {stats.naks} NAKs; "
            f"PNG snapshots in {self.out}/",
            flush=True,
        )

    def look(self) -> None:
        """LOOK (swipe up) at a product; the answer's pages are snapshots."""
        from glasses.display.views import Mode
        from glasses.runtime import media

        sign, self.view.image = self.view.image, media.product_image()
        look = self.d.controller.modes[Mode.READ].look
        started = time.perf_counter()
        self.event({"kind": "swipe", "direction": "up"}, "swipe up")
        self.runner.wait_until(
            lambda d: look.capture_id is None and (look.page is not None or bool(look.note)),
            self.timeout_s,
            "the look's answer",
        )
        first_s = time.perf_counter() - started
        self.settle()
        print(
            f"  look: first words {first_s:.2f} s after the swipe, whole answer "
            f"{time.perf_counter() - started:.2f} s",
            flush=True,
        )
        print(f"  look answer: {json.dumps(self.runner.call(lambda: look.answer))}", flush=True)
        pages = self.runner.call(lambda: look.page.page_count if look.page else 1)
        for page in range(pages):
            self.snap(f"look-page-{page + 1}")
            if page + 1 < pages:
                self.event({"kind": "swipe", "direction": "forward"}, "swipe forward")
        self.view.image = sign

    def settle(self) -> None:
        self.runner.wait_idle(self.timeout_s)
        display = self.d.stages["display"]
        self.runner.wait_until(
            lambda d: display.presented == d.controller.screen, self.timeout_s, "the screen"
        )

    def snap(self, name: str) -> None:
        self.settle()
        path = (self.out / f"{name}.png").resolve()
        # The screen as the simulator shows it (its snapshot API picks names in --save-dir).
        path.write_bytes(self.sim.get("/screen.png"))
        print(f"  {name:<16} -> {path}", flush=True)
        self.last_step = name
        time.sleep(self.step_s)  # so a person watching the live page can follow

    def press(self, action: str, mode: Any = None) -> None:
        """A button event from the simulated glasses; waits until the daemon handled it."""
        self.event({"kind": "button", "action": action}, action)
        if mode is not None:
            self.runner.wait_until(lambda d: d.controller.mode is mode, self.timeout_s, "mode")

    def event(self, body: dict[str, Any], what: str) -> None:
        """An input event from the simulated glasses; waits until the daemon handled it."""
        before = self.runner.call(lambda: self.d.controller.inputs)
        self.sim.post("/api/event", body)
        self.runner.wait_until(lambda d: d.controller.inputs > before, self.timeout_s, what)

    def say(self, text: str, language: str, partial: str | None = None) -> None:
        from glasses.runtime import media

        samples = media.utterance(text, language)
        cut = len(samples) // 2 if partial else len(samples)
        for part, name in ((samples[:cut], partial), (samples[cut:], None)):
            if len(part):
                self.audio.push(part)
                self.heard()
            if name:
                self.snap(name)

    def heard(self) -> None:
        listen = self.d.stages.get("listen")
        if listen is None:  # not listening (no VAD): the audio goes nowhere
            return
        self.runner.wait_until(
            lambda d: (
                self.audio.pending_samples() == 0
                and listen.heard_samples >= self.audio.delivered_samples
            ),
            self.timeout_s,
            "the speech to be heard",
        )
        self.settle()
