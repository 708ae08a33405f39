"""End-to-end latency of the daemon on the simulated glasses, CPU while listening to silence,
and peak memory.

    python scripts/bench_e2e.py [--utterances 5] [--captures 3] [--silence-s 10]
                                [--profile 640x400x4] [--asr-model DIR] [--write docs/benchmarks.md]

Runs ``glasses-sim display`` and the whole daemon in this process, with the real Silero VAD and
RapidOCR. Speech is synthesised with espeak-ng. Without a SenseVoice model (``--asr-model`` or
``$GLASSES_SENSEVOICE_DIR``) a stand-in recogniser returns fixed text at once, so "ASR" is then
zero and the figures are the pipeline's own share. Figures:

* captions: the end of an utterance as the segmenter sees it (which is ``audio.min_silence_s``
  after the voice stops) -> final text -> first bytes of the new screen on the wire -> the
  device's acknowledgement of the PRESENT;
* read: the OCR result -> first bytes on the wire -> acknowledged;
* CPU: process CPU time / wall time while the microphone feeds silence in real time (the
  simulator, another process, is not counted);
* peak RSS of this process (VAD, OCR, fonts, the pipeline; no LLM loaded).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glasses.config import load_settings  # noqa: E402
from glasses.daemon import Daemon  # noqa: E402
from glasses.display.views import Mode  # noqa: E402
from glasses.perception.asr import Recognition  # noqa: E402
from glasses.pipeline import media  # noqa: E402
from glasses.pipeline.background import DaemonThread  # noqa: E402
from glasses.pipeline.feeds import LoopingImageReader, PushAudioSource  # noqa: E402
from glasses.pipeline.messages import Intent, SetMode, UserInput  # noqa: E402
from glasses.pipeline.parts import Parts, add_camera, add_recognizer, add_vad  # noqa: E402
from glasses.sources.camera import ThreadedCamera  # noqa: E402
from hw_sim.launcher import SimulatorProcess  # noqa: E402

MARK_START = "<!-- bench_e2e:start -->"
MARK_END = "<!-- bench_e2e:end -->"
LINES = ("Next stop: West Lake.", "Please exit by the front door.", "The museum opens at nine.")


class FixedText:
    """Stand-in recogniser (no SenseVoice model here): answers at once, so ASR costs 0 ms."""

    def __init__(self) -> None:
        self.lines = deque(LINES)

    def recognize(self, samples: Any, sample_rate_hz: int = 16_000) -> Recognition:
        self.lines.rotate(-1)
        return Recognition(self.lines[0], "en")


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    a = np.asarray(values)
    return f"{np.median(a):.1f} (max {a.max():.1f})"


def run(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        sim_args = ["--pty", "--link", f"{tmp}/tty", "--web-port", "0", "-q"]
        with SimulatorProcess(*sim_args, "--profile", args.profile) as sim:
            overrides = [f"display.url={sim.url}", "asr.partials=false", "camera.idle_close_s=60"]
            if args.asr_model:
                overrides.append(f"asr.model_dir={args.asr_model}")
            settings = load_settings(overrides=overrides)
            audio = PushAudioSource()
            parts = Parts(audio=lambda: audio)
            add_vad(parts)
            add_recognizer(settings, parts)
            real_asr = parts.recognizer is not None
            parts.recognizer = parts.recognizer or FixedText()
            sign = media.sign_image()
            add_camera(settings, parts, lambda: ThreadedCamera(LoopingImageReader(sign, 30.0)))
            runner = DaemonThread(Daemon(settings, parts)).start()
            try:
                return measure(args, runner, audio, sim, real_asr)
            finally:
                runner.stop()


def measure(args: argparse.Namespace, runner: Any, audio: Any, sim: Any, real_asr: bool) -> str:
    d = runner.daemon
    hist = d.metrics.histograms
    listen = d.stages["listen"]
    asr, wire, present = [], [], []
    for i in range(args.utterances):
        samples = media.utterance(LINES[i % len(LINES)], "en")
        before = count(hist, "e2e.FinalTranscript_to_present")
        audio.push(samples)
        runner.wait_until(lambda d: listen.heard_samples >= audio.delivered_samples, 30, "speech")
        grew(runner, hist, "e2e.FinalTranscript_to_present", before)
        asr.append(hist["asr.final"].last_ms)
        wire.append(hist["e2e.FinalTranscript_to_wire"].last_ms)
        present.append(hist["e2e.FinalTranscript_to_present"].last_ms)
    ocr, ocr_wire, ocr_present = [], [], []
    runner.post(SetMode(Mode.READ))
    for _ in range(args.captures):
        before = count(hist, "e2e.OcrText_to_present")
        runner.post(UserInput(Intent.ACTION))
        grew(runner, hist, "e2e.OcrText_to_present", before)
        ocr.append(hist["ocr.read"].last_ms)
        ocr_wire.append(hist["e2e.OcrText_to_wire"].last_ms)
        ocr_present.append(hist["e2e.OcrText_to_present"].last_ms)
    runner.post(SetMode(Mode.CAPTIONS))
    runner.wait_idle()
    audio.realtime = True  # from now on a microphone in a quiet room (it adds the silence)
    time.sleep(1.0)  # let the pacing settle before measuring
    cpu0, wall0, heard0 = cpu_s(), time.monotonic(), listen.heard_samples
    time.sleep(args.silence_s)
    wall_s = time.monotonic() - wall0
    cpu_share = (cpu_s() - cpu0) / wall_s
    heard_s = (listen.heard_samples - heard0) / 16000
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    render = hist["display.render"]
    render_ms = render.total_ms / max(render.count, 1)
    e2e = [a + p for a, p in zip(asr, present, strict=True)]
    share = [p / e for p, e in zip(present, e2e, strict=True) if e > 0]
    silence_s = settings_min_silence(d)
    lines = [
        MARK_START,
        "## End to end: speech and reading to pixels on the glasses (`scripts/bench_e2e.py`)",
        "",
        f"`python scripts/bench_e2e.py --utterances {args.utterances} --captures {args.captures} "
        f"--silence-s {args.silence_s:g} --profile {args.profile}` on {platform.machine()} "
        f"({os.cpu_count()} cores, shared with other work), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}. Simulated display "
        f"{args.profile} over a pty at 921600 baud (emulated). ASR: "
        f"{'SenseVoice' if real_asr else 'stand-in recogniser (no SenseVoice model here: 0 ms)'}.",
        "",
        "| figure (ms, median (max)) | value |",
        "| --- | --- |",
        f"| utterance end seen by the segmenter, after the voice stops (`audio.min_silence_s`) | {silence_s * 1000:.0f} |",
        f"| utterance end -> final text (ASR compute) | {stats(asr)} |",
        f"| final text -> first BLIT bytes on the wire | {stats(wire)} |",
        f"| of which rendering a screen (Pillow, mean over all screens) | {render_ms:.1f} |",
        f"| final text -> PRESENT acknowledged by the display | {stats(present)} |",
        f"| utterance end -> caption presented | {stats(e2e)} |",
        f"| share of that not spent in model compute | {100 * float(np.median(share)) if share else 0:.0f} % |",
        f"| OCR compute (RapidOCR, a {media.sign_image().shape[1]}x{media.sign_image().shape[0]} sign, 3 lines) | {stats(ocr)} |",
        f"| OCR result -> first BLIT bytes on the wire | {stats(ocr_wire)} |",
        f"| OCR result -> PRESENT acknowledged | {stats(ocr_present)} |",
        "",
        "| resource | value |",
        "| --- | --- |",
        f"| CPU while listening to silence (captions mode; {heard_s:.1f} s of audio through the VAD in {wall_s:.1f} s) | {100 * cpu_share:.1f} % of one core |",
        f"| peak RSS of the daemon process (VAD, OCR, fonts; no LLM) | {peak_mb:.0f} MB |",
        "",
        "The display figures include rendering, the compositor (which builds the update on the",
        "link's I/O thread: most of the time to the first BLIT that is not rendering) and the",
        "emulated UART; with no model compute in them they are the pipeline's overhead. With a",
        "real recogniser the ASR row grows by the decode time of the utterance (not measured",
        "here: no SenseVoice model on this machine).",
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


def count(hist: dict[str, Any], name: str) -> int:
    return int(hist[name].count) if name in hist else 0


def grew(runner: Any, hist: dict[str, Any], name: str, before: int) -> None:
    """Wait until histogram ``name`` has a new value, then until the pipeline is idle."""
    runner.wait_until(lambda d: count(hist, name) > before, 30, name)
    runner.wait_idle()


def settings_min_silence(d: Any) -> float:
    return float(d.settings.audio.min_silence_s)


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + section + rest.split(MARK_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--utterances", type=int, default=5)
    parser.add_argument("--captures", type=int, default=3)
    parser.add_argument("--silence-s", type=float, default=10.0)
    parser.add_argument("--profile", default="640x400x4")
    parser.add_argument("--asr-model", metavar="DIR")
    parser.add_argument("--write", type=Path, metavar="MD", help="put the section into this file")
    args = parser.parse_args()
    section = run(args)
    print(section)
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
