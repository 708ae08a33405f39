"""Perception costs: Silero VAD CPU per second of audio, OCR latency and accuracy per frame
(our ``OcrEngine`` against ``rapidocr_onnxruntime.RapidOCR()`` with its defaults, on the same
frames in the same run), and speech recognition real-time factor and end-of-speech-to-final
latency.

    python scripts/bench_perception.py [--quick] [--json PATH] [--asr-model DIR]
                                       [--write docs/benchmarks.md]

Everything is made at run time: speech with espeak-ng, signs with Pillow in Noto Sans CJK
composited into camera-like frames (textured background, slight rotation, blur, noise). ASR
always runs the tiny random-weight SenseVoice, Moonshine and zipformer of ``tests/asr_support``
(only the plumbing cost means anything there) and also real models when ``--asr-model`` (one or
more) or ``$GLASSES_SENSEVOICE_DIR`` names them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MARK_START = "<!-- bench_perception:start -->"
MARK_END = "<!-- bench_perception:end -->"
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
RATE = 16_000

# (lines of the sign, plate colour RGB, text colour RGB)
SIGNS: tuple[tuple[tuple[str, ...], tuple[int, int, int], tuple[int, int, int]], ...] = (
    (("出口", "EXIT"), (20, 120, 60), (255, 255, 255)),
    (("西湖", "West Lake"), (30, 70, 150), (255, 255, 255)),
    (("地铁站", "Metro Station"), (240, 240, 235), (20, 20, 20)),
    (("禁止吸烟", "No Smoking"), (250, 250, 250), (180, 20, 20)),
    (("营业时间 9:00-21:00",), (245, 200, 40), (20, 20, 20)),
    (("洗手间", "Toilets"), (60, 60, 60), (255, 255, 255)),
    (("请勿触摸", "Do not touch"), (235, 235, 225), (30, 30, 30)),
    (("博物馆 Museum",), (120, 40, 30), (250, 240, 220)),
    # Rows mixing Chinese and English, where the word spaces are easy to lose (issue 11 §2);
    # the first is the demo's sign (glasses.runtime.media.SIGN_ROWS).
    (
        ("西湖游船 West Lake boats", "票价 55元 Tickets 55 yuan", "出口 Exit B"),
        (235, 232, 220),
        (20, 30, 60),
    ),
    (("咖啡 Coffee 18", "绿茶 Green tea 12"), (60, 40, 30), (250, 240, 220)),
    (("地铁2号线 Metro Line 2", "开往 机场 To Airport"), (20, 90, 160), (255, 255, 255)),
)
SIZES = ((640, 480), (1280, 720))


# --------------------------------------------------------------------------- frames


def _font(size_px: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(CJK_FONT), size_px)


def render_frame(index: int, size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """Sign ``index`` in a camera-like BGR frame of ``size``; also its text as the sign has it
    (rows joined by newlines, word spaces kept)."""
    import cv2
    from PIL import Image, ImageDraw

    lines, plate_rgb, ink_rgb = SIGNS[index % len(SIGNS)]
    rng = np.random.default_rng(1000 + index * 7 + size[0])
    width, height = size
    # Background: a diagonal gradient with low-frequency blotches and fine grain (a wall).
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(70, 170, 3)
    tilt = rng.uniform(-50, 50, 3)
    ramp = (xx / width + yy / height)[..., None] / 2.0
    blotches = cv2.resize(rng.normal(0, 18, (9, 12, 3)).astype(np.float32), (width, height))
    grain = rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    background = np.clip(base + tilt * ramp + blotches + grain, 0, 255).astype(np.uint8)
    canvas = Image.fromarray(background)
    # The plate: text sized to the frame (a sign a few metres away fills about half of it).
    font_px = int(height * rng.uniform(0.085, 0.11))
    face = _font(font_px)
    pen = ImageDraw.Draw(canvas)
    boxes = [pen.textbbox((0, 0), line, font=face) for line in lines]
    text_w = max(b[2] - b[0] for b in boxes)
    if text_w + 1.2 * font_px > 0.92 * width:  # a long row: the plate still fits the frame
        font_px = int(font_px * 0.92 * width / (text_w + 1.2 * font_px))
        face = _font(font_px)
        boxes = [pen.textbbox((0, 0), line, font=face) for line in lines]
        text_w = max(b[2] - b[0] for b in boxes)
    line_h = int(font_px * 1.35)
    pad = int(font_px * 0.6)
    plate = Image.new("RGB", (text_w + 2 * pad, line_h * len(lines) + 2 * pad), plate_rgb)
    plate_pen = ImageDraw.Draw(plate)
    for i, (line, box) in enumerate(zip(lines, boxes, strict=True)):
        x = pad + (text_w - (box[2] - box[0])) // 2 - box[0]
        plate_pen.text((x, pad + i * line_h), line, font=face, fill=ink_rgb)
    plate_rgba = plate.convert("RGBA").rotate(
        float(rng.uniform(-4, 4)), expand=True, resample=Image.BICUBIC
    )
    left = int(rng.uniform(0.05, 0.95) * max(1, width - plate_rgba.width))
    top = int(rng.uniform(0.05, 0.95) * max(1, height - plate_rgba.height))
    canvas.paste(plate_rgba, (left, top), plate_rgba)
    frame = np.asarray(canvas).astype(np.float32)
    frame = cv2.GaussianBlur(frame, (0, 0), float(rng.uniform(0.6, 1.1)) * width / 640)
    frame += rng.normal(0, 3, frame.shape).astype(np.float32)  # sensor noise
    bgr = np.clip(frame, 0, 255).astype(np.uint8)[:, :, ::-1].copy()
    return bgr, "\n".join(lines)


def char_errors(expected: str, text: str) -> int:
    """Edit distance (insertions, deletions, substitutions) from the sign's text to what was
    read, every character counted: a word space dropped ("WestLake") or invented is an error,
    and so is a row break ("\\n") read as a space or missed."""
    previous = list(range(len(text) + 1))
    for i, want in enumerate(expected, 1):
        current = [i]
        for j, got in enumerate(text, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (want != got))
            )
        previous = current
    return previous[-1]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --------------------------------------------------------------------------- OCR


@dataclass
class OcrStats:
    latencies_s: list[float]
    stages_s: list[tuple[float, float, float]]  # det, cls, rec per call
    errors: int = 0  # char_errors summed over the signs
    expected: int = 0  # characters on the signs, spaces and row breaks included
    exact: int = 0  # signs read exactly, spaces included

    @property
    def cer(self) -> float:
        return self.errors / max(1, self.expected)

    def stage_medians_ms(self) -> list[float]:
        return [statistics.median(s[i] for s in self.stages_s) * 1000 for i in range(3)]


# The detector change issue 11 §2 suggests (rapidocr's own detector input, or regions grown
# wider before cropping), each with and without the word-space decoder; OcrConfig() is "ours".
OCR_VARIANTS: tuple[dict[str, Any], ...] = tuple(
    {"det_limit_type": limit, "det_unclip_ratio": unclip, "restore_spaces": spaces}
    for limit, unclip in (("max", 1.6), ("min", 1.6), ("max", 2.0))
    for spaces in (True, False)
)


def variant_label(changes: dict[str, Any]) -> str:
    """``OcrEngine(OcrConfig(...))`` naming only what differs from the defaults."""
    from glasses.perception.ocr import OcrConfig

    default = OcrConfig()
    args = ", ".join(f"{k}={v!r}" for k, v in changes.items() if getattr(default, k) != v)
    return f"`OcrEngine(OcrConfig({args}))`" if args else "`OcrEngine()`"


def ocr_engines(size: tuple[int, int]) -> dict[str, tuple[str, Any]]:
    """name -> (label, engine): ``rapidocr`` (its defaults), ``ours`` (``OcrEngine()``), the
    variants that are not the defaults, and ``ours_960`` for frames over 960 px."""
    from dataclasses import replace

    from rapidocr_onnxruntime import RapidOCR

    from glasses.perception.ocr import OcrConfig, OcrEngine

    engines: dict[str, tuple[str, Any]] = {
        "rapidocr": ("`RapidOCR()` defaults", RapidOCR()),  # as a user of the package calls it
        "ours": ("`OcrEngine()`", OcrEngine()),
    }
    for changes in OCR_VARIANTS:
        if replace(OcrConfig(), **changes) != OcrConfig():
            name = "ours(" + ",".join(f"{k}={v}" for k, v in changes.items()) + ")"
            engines[name] = (variant_label(changes), OcrEngine(replace(OcrConfig(), **changes)))
    if max(size) > 960:  # the lever for 1280x720 frames
        engines["ours_960"] = (
            "`OcrEngine(OcrConfig(max_side_px=960))`",
            OcrEngine(OcrConfig(max_side_px=960)),
        )
    return engines


def read_with(engine: Any, frame: np.ndarray) -> tuple[str, tuple[float, float, float]]:
    """Rows joined by newlines, boxes in a row by a space: what ``OcrResult.text`` gives,
    also for rapidocr's raw output (same layout code, so only the engines differ)."""
    from glasses.perception.ocr import OcrEngine
    from glasses.perception.text_layout import TextLine, group_rows, row_text

    if isinstance(engine, OcrEngine):
        return engine.recognize(frame).text, engine.last_stage_s
    raw, timings = engine(frame)
    stages = [float(t) for t in (timings or [])] + [0.0, 0.0, 0.0]
    lines = [
        TextLine(str(text), float(score), tuple((float(x), float(y)) for x, y in box))  # type: ignore[arg-type]
        for box, text, score in raw or []
        if str(text).strip()
    ]
    text = "\n".join(row_text(row) for row in group_rows(lines))
    return text, (stages[0], stages[1], stages[2])


def bench_ocr(reps: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in SIZES:
        engines = ocr_engines(size)
        frames = [render_frame(i, size) for i in range(len(SIGNS))]
        for _, engine in engines.values():  # warm-up: first-call allocations per crop shape
            for frame, _ in frames if reps > 1 else frames[:1]:
                read_with(engine, frame)
        stats = {name: OcrStats([], []) for name in engines}
        texts: dict[str, list[str]] = {name: [] for name in engines}
        for rep in range(reps):
            for i, (frame, expected) in enumerate(frames):
                order = list(engines)[(rep + i) % len(engines) :] + list(engines)
                order = order[: len(engines)]  # rotate who goes first, frame by frame
                for name in order:
                    started = time.perf_counter()
                    text, stages = read_with(engines[name][1], frame)
                    stats[name].latencies_s.append(time.perf_counter() - started)
                    stats[name].stages_s.append(stages)
                    if rep == 0:  # accuracy is deterministic: score each frame once
                        stats[name].errors += char_errors(expected, text)
                        stats[name].expected += len(expected)
                        stats[name].exact += text == expected
                        texts[name].append(text)
        results[f"{size[0]}x{size[1]}"] = {
            name: {
                "label": engines[name][0],
                "median_ms": statistics.median(s.latencies_s) * 1000,
                "p90_ms": percentile(s.latencies_s, 0.9) * 1000,
                "det_cls_rec_median_ms": s.stage_medians_ms(),
                "cer": s.cer,
                "char_errors": s.errors,
                "chars_expected": s.expected,
                "signs_exact": s.exact,
                "signs": len(frames),
                "calls": len(s.latencies_s),
                "texts": texts[name],
            }
            for name, s in stats.items()
        }
        del engines
    return results


# --------------------------------------------------------------------------- speech


def espeak(text: str, workdir: Path, voice: str = "en") -> np.ndarray:
    """``text`` spoken by espeak-ng, as 16 kHz float32 trimmed to the voice."""
    from glasses.sources.audio_file import read_audio_file

    path = workdir / f"{abs(hash((text, voice)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    samples, _file_rate = read_audio_file(path)  # resampled to 16 kHz on reading
    frame = 160
    frames = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: frames * frame].reshape(frames, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > -40.0)
    return samples[int(loud[0] * frame) : int((loud[-1] + 1) * frame)]


PHRASES = (
    "Turn left at the next corner",
    "Thank you very much",
    "Where is the metro station",
    "The museum opens at nine in the morning",
)


def speech_stream(
    workdir: Path, count: int, gap_s: float = 1.5
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Phrases separated by silence (with a faint noise floor); the voiced sample ranges."""
    rng = np.random.default_rng(0)
    parts: list[np.ndarray] = []
    voiced: list[tuple[int, int]] = []
    position = 0
    for i in range(count):
        gap = (rng.standard_normal(round(gap_s * RATE)) * 0.002).astype(np.float32)
        voice = espeak(PHRASES[i % len(PHRASES)], workdir)
        parts += [gap, voice]
        voiced.append((position + len(gap), position + len(gap) + len(voice)))
        position += len(gap) + len(voice)
    parts.append((rng.standard_normal(round(gap_s * RATE)) * 0.002).astype(np.float32))
    return np.concatenate(parts), voiced


CHUNK = 320  # 20 ms, what the microphone source delivers


def bench_vad(audio: np.ndarray, voiced: list[tuple[int, int]]) -> dict[str, Any]:
    from glasses.perception.segmenter import Segmenter, SpeechEnded
    from glasses.perception.vad import SileroVad

    vad = SileroVad()
    vad.feed(audio[: RATE // 2])  # warm-up
    vad.reset()
    seconds = len(audio) / RATE
    cpu0, wall0 = time.process_time(), time.perf_counter()
    windows = []
    for offset in range(0, len(audio), CHUNK):
        windows += vad.feed(audio[offset : offset + CHUNK])
    vad_cpu = time.process_time() - cpu0
    vad_wall = time.perf_counter() - wall0
    segmenter = Segmenter()
    cpu1 = time.process_time()
    ended = [e for w in windows for e in segmenter.push(w) if isinstance(e, SpeechEnded)]
    seg_cpu = time.process_time() - cpu1
    return {
        "audio_s": seconds,
        "windows": len(windows),
        "vad_cpu_s": vad_cpu,
        "vad_wall_s": vad_wall,
        "vad_core_pct": 100 * vad_cpu / seconds,
        "segmenter_cpu_s": seg_cpu,
        "segmenter_core_pct": 100 * seg_cpu / seconds,
        "utterances_expected": len(voiced),
        "utterances_found": len(ended),
        "per_window_us": 1e6 * vad_cpu / max(1, len(windows)),
    }


def bench_asr(
    label: str,
    model_dir: Path,
    audio: np.ndarray,
    voiced: list[tuple[int, int]],
    num_threads: int,
) -> dict[str, Any]:
    """Stream ``audio`` through VAD, segmenter and transcriber as the daemon does; time decodes."""
    from glasses.perception.asr import RecognizerConfig, inspect_folder, load_recognizer
    from glasses.perception.segmenter import Segmenter, SpeechEnded
    from glasses.perception.transcriber import transcriber_for
    from glasses.perception.vad import SileroVad

    recognizer = load_recognizer(RecognizerConfig(model_dir, num_threads=num_threads))
    recognizer.recognize(audio[voiced[0][0] : voiced[0][1]])  # warm-up
    transcriber = transcriber_for(recognizer)
    vad, segmenter = SileroVad(), Segmenter()
    finals: list[dict[str, Any]] = []
    partial_s = 0.0
    partial_audio_s = 0.0
    for offset in range(0, len(audio), CHUNK):
        for window in vad.feed(audio[offset : offset + CHUNK]):
            for event in segmenter.push(window):
                if not isinstance(event, SpeechEnded):
                    continue
                started = time.perf_counter()
                text = transcriber.final(event).text
                decode = time.perf_counter() - started
                voice_end = min(voiced, key=lambda v: abs(v[1] - event.end_sample))[1]
                endpoint = (window.end_sample - voice_end) / RATE
                finals.append(
                    {
                        "audio_s": event.duration_s,
                        "decode_s": decode,
                        "endpoint_s": endpoint,
                        "text": text,
                    }
                )
            segment = segmenter.open_segment()
            if segment is not None:
                started = time.perf_counter()  # every call: a streaming model decodes in each
                made = transcriber.partial(*segment) is not None
                partial_s += time.perf_counter() - started
                partial_audio_s += len(segment[1]) / RATE if made else 0.0
    if not finals:
        return {"label": label, "error": "no utterance ended"}
    decodes = [f["decode_s"] for f in finals]
    return {
        "label": label,
        "kind": inspect_folder(model_dir).kind,
        "utterances": len(finals),
        "rtf_final": sum(decodes) / sum(f["audio_s"] for f in finals),
        "decode_median_ms": statistics.median(decodes) * 1000,
        "decode_max_ms": max(decodes) * 1000,
        "endpoint_median_ms": statistics.median(f["endpoint_s"] for f in finals) * 1000,
        "eos_to_final_median_ms": statistics.median(
            (f["endpoint_s"] + f["decode_s"]) * 1000 for f in finals
        ),
        "partial_decode_s_per_audio_s": partial_s / max(1e-9, len(audio) / RATE),
        "rtf_partials": partial_s / max(1e-9, partial_audio_s),
        "texts": [f["text"] for f in finals],
    }


# --------------------------------------------------------------------------- report


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += " plus uncommitted changes" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return (
        f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d', time.gmtime())}, "
        f"commit {commit}"
    )


def ocr_ratio(ocr: dict[str, Any], size: str, engine: str = "ours") -> float:
    cell = ocr[size]
    return float(cell[engine]["median_ms"] / cell["rapidocr"]["median_ms"])


def ocr_no_loss(ocr: dict[str, Any], engine: str = "ours") -> bool:
    """No loss in the space-aware score against rapidocr's defaults at every frame size: no
    more character errors (spaces counted) and no fewer signs read exactly."""
    return all(
        cell[engine]["char_errors"] <= cell["rapidocr"]["char_errors"]
        and cell[engine]["signs_exact"] >= cell["rapidocr"]["signs_exact"]
        for cell in ocr.values()
        if engine in cell
    )


INTRO = """\
## Perception: VAD, OCR, ASR (`scripts/bench_perception.py`)

What listening and reading cost on the CPU, measured by `scripts/bench_perception.py`
(`--quick` for a smoke run, `--json PATH` for the raw numbers, `--write docs/benchmarks.md` to
regenerate this section). All inputs are made at run time:

- **VAD**: English phrases spoken by espeak-ng, 1.5 s of faint noise before, between and after
  them, fed to `SileroVad.feed` in 20 ms chunks as the microphone delivers them, then the
  windows to `Segmenter.push`. CPU is `time.process_time()` (all threads of the process) over
  the audio's duration: the share of one core the VAD takes in real time.
- **OCR**: 11 signs (Chinese and English, coloured plates, one to three rows; three of them
  with rows mixing the two, the demo's "西湖游船 West Lake boats / 票价 55元 Tickets 55 yuan /
  出口 Exit B" among them) drawn with Pillow in Noto Sans CJK and composited into 640x480 and
  1280x720 frames: a gradient wall with blotches and grain, the plate rotated by up to 4
  degrees, Gaussian blur and sensor noise. Each frame is read by `rapidocr_onnxruntime.RapidOCR()`
  with its defaults, by our `OcrEngine()` (default `OcrConfig`) and by `OcrEngine` with the
  detector settings issue 11 §2 weighed (`det_limit_type` "max" or rapidocr's "min",
  `det_unclip_ratio` 1.6 or 2.0), each with and without the word-space decoder
  (`restore_spaces`, `glasses/perception/ocr_spaces.py`), taking turns at going first, in the same
  process; 1280x720 frames also by `OcrEngine` with `max_side_px=960` (the frame shrunk to
  960x540 before anything runs). Every engine's boxes go through the same row grouping
  (`OcrResult.text`: rows joined by newlines, boxes in a row by a space). **char errors** = edit
  distance from the sign's text *with its word spaces and row breaks* to what was read (a
  dropped space, "WestLake", is one error), summed over the signs; **CER** = that over the
  characters on the signs; **exact** = signs read character for character, spaces included;
  deterministic. **det / cls / rec** = rapidocr's own per-stage timings.
- **ASR**: the same audio through VAD, segmenter and the transcriber the model calls for:
  SenseVoice and Moonshine re-decode the open utterance every 0.2 s of new speech
  (`StreamingTranscriber`), a streaming zipformer is fed each 20 ms chunk once
  (`OnlineTranscriber`); a final decode at each `SpeechEnded`. **partials** = time in the
  transcriber's `partial` per second of audio streamed (the share of one core partials take).
  **RTF final** = final decode wall time / utterance audio; **endpointing** = stream time from
  the voice's last sample to the window that ended the segment (the segmenter waits
  `min_silence_s` = 0.5 s); **end of speech -> final text** = endpointing + final decode.
  The tiny model of `tests/asr_support` has random weights: only sherpa-onnx's feature and
  plumbing cost means anything there. A real model is measured when `--asr-model DIR` or
  `$GLASSES_SENSEVOICE_DIR` names one.
"""


def render_markdown(report: dict[str, Any]) -> str:
    out: list[str] = [INTRO]
    out.append("Command:\n")
    out.append(f"    {report['command']}\n")
    out.append(f"Machine: {report['machine']} (load average {report['load']}).\n")
    vad = report["vad"]
    out.append(f"### VAD (Silero, {vad['audio_s']:.1f} s of espeak-ng speech and silence)\n")
    out.append("| part | CPU s | audio s | % of one core | per 32 ms window |")
    out.append("|---|---:|---:|---:|---:|")
    out.append(
        f"| SileroVad.feed, 20 ms chunks | {vad['vad_cpu_s']:.3f} | {vad['audio_s']:.1f} "
        f"| {vad['vad_core_pct']:.2f} % | {vad['per_window_us']:.0f} us |"
    )
    out.append(
        f"| Segmenter.push | {vad['segmenter_cpu_s']:.3f} | {vad['audio_s']:.1f} "
        f"| {vad['segmenter_core_pct']:.2f} % | - |"
    )
    out.append(
        f"\nUtterances found by the segmenter: {vad['utterances_found']} of "
        f"{vad['utterances_expected']}.\n"
    )
    ocr = report["ocr"]
    reps = report["ocr_reps"]
    passes = f"{reps} timed pass{'es' if reps != 1 else ''}"
    out.append(f"### OCR ({len(SIGNS)} signs per frame size, {passes})\n")
    out.append(
        "| frame | engine | median ms | p90 ms | det / cls / rec median ms "
        "| char errors (spaces counted) | CER | signs exact | vs rapidocr median |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for size, cell in ocr.items():
        for name, c in cell.items():
            stages = " / ".join(f"{v:.0f}" for v in c["det_cls_rec_median_ms"])
            ratio = "1.00x" if name == "rapidocr" else f"{ocr_ratio(ocr, size, name):.2f}x"
            out.append(
                f"| {size} | {c['label']} | {c['median_ms']:.0f} | {c['p90_ms']:.0f} | {stages} "
                f"| {c['char_errors']} / {c['chars_expected']} | {100 * c['cer']:.1f} % "
                f"| {c['signs_exact']} / {c['signs']} | {ratio} |"
            )
    out.append("")
    out.append("### ASR (sherpa-onnx, fed by VAD and segmenter)\n")
    out.append(
        "| model | kind | utterances | RTF final | final decode median / max ms "
        "| endpointing median ms | end of speech -> final text median ms "
        "| partials: CPU s per s of audio |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for asr in report["asr"]:
        if "error" in asr:
            out.append(f"| {asr['label']} | | {asr['error']} | | | | | |")
            continue
        out.append(
            f"| {asr['label']} | {asr['kind']} | {asr['utterances']} | {asr['rtf_final']:.3f} "
            f"| {asr['decode_median_ms']:.0f} / {asr['decode_max_ms']:.0f} "
            f"| {asr['endpoint_median_ms']:.0f} | {asr['eos_to_final_median_ms']:.0f} "
            f"| {asr['partial_decode_s_per_audio_s']:.4f} |"
        )
    if "asr_note" in report:
        out.append(f"\nNo real model in this run: {report['asr_note']}.")
    out.append("")
    goals = report["goals"]
    out.append("Goals:\n")
    out.append(
        f"- VAD under 1 % of one core in real time: "
        f"{'met' if goals['vad'] else 'NOT met'} ({vad['vad_core_pct']:.2f} %)."
    )
    small, large = ocr["640x480"], ocr["1280x720"]
    out.append(
        f"- OCR at 640x480 in at most 0.8x rapidocr's default time, at no loss in the "
        f"space-aware score: {'met' if goals['ocr_speed'] and goals['ocr_accuracy'] else 'NOT met'} "
        f"({ocr_ratio(ocr, '640x480'):.2f}x; char errors "
        + ", ".join(
            f"{size} {cell['ours']['char_errors']} vs {cell['rapidocr']['char_errors']}, "
            f"exact {cell['ours']['signs_exact']} vs {cell['rapidocr']['signs_exact']}"
            for size, cell in ocr.items()
        )
        + " for `OcrEngine()` vs `RapidOCR()`)."
    )
    passing = [
        small[name]["label"]
        for name in small
        if name != "rapidocr" and ocr_ratio(ocr, "640x480", name) <= 0.8 and ocr_no_loss(ocr, name)
    ]
    out.append(
        "- Configurations that meet both in this run: "
        + (", ".join(passing) if passing else "none")
        + "."
    )
    shrunk = large.get("ours_960")
    trial = (
        f"measured above: {ocr_ratio(ocr, '1280x720', 'ours_960'):.2f}x, "
        f"{shrunk['char_errors']} char errors, {shrunk['signs_exact']} of {shrunk['signs']} "
        "signs exact"
        if shrunk
        else "not measured in this run"
    )
    misses = [
        f"{size}: {json.dumps(got, ensure_ascii=False)} for "
        f"{json.dumps(chr(10).join(SIGNS[i][0]), ensure_ascii=False)}"
        for size, cell in ocr.items()
        for i, got in enumerate(cell["ours"]["texts"])
        if got != "\n".join(SIGNS[i][0])
    ]
    misread = (
        "`OcrEngine()` misreads " + "; ".join(misses) + "."
        if misses
        else "`OcrEngine()` reads every sign exactly."
    )
    plain = {
        name: c
        for name, c in small.items()
        if name.startswith("ours(") and "restore_spaces=False" in name
    }
    plain_errors = "; ".join(f"{c['char_errors']} for {c['label']}" for c in plain.values())
    asr_note = ""
    if report["asr"] and "endpoint_median_ms" in report["asr"][0]:
        endpoint = report["asr"][0]["endpoint_median_ms"]
        asr_note = f"""The tiny ASR models' times are sherpa-onnx's fbank, the ONNX calls and the decoding loops,
not a real encoder: real models are far slower. End of speech -> final text is then dominated
by the segmenter's endpointing ({endpoint:.0f} ms: `min_silence_s` plus window granularity)
until a real model's decode time is added; rerun with `--asr-model DIR` (or
`$GLASSES_SENSEVOICE_DIR`) to measure one. What the tiny models do show is the shape of the
costs: re-decoding partials grows with the utterance, streaming ones do not, and a streaming
model's final decode is only the last chunk and the tail padding."""
    out.append(
        f"""
Reading the numbers: the VAD is {vad["per_window_us"]:.0f} us of CPU per 32 ms window, far
below the 1 % budget; the segmenter is noise next to it. OCR time is mostly text detection.
`RapidOCR()` with its defaults (`det_limit_type="min"`, 736) enlarges a 640x480 frame to
981x736 before detecting; `OcrEngine` passes `det_limit_type="max"`, so the detector sees the
frame at its own size (det {small["rapidocr"]["det_cls_rec_median_ms"][0]:.0f} ->
{small["ours"]["det_cls_rec_median_ms"][0]:.0f} ms median). What loses word spaces is the
recogniser's greedy decoding, not the detector alone: char errors (spaces counted) at
640x480 are {small["rapidocr"]["char_errors"]} for `RapidOCR()` and, with plain decoding,
{plain_errors}; with the word-space decoder every detector setting does as well as or better than
rapidocr's defaults. `det_unclip_ratio=2.0` (regions grown wider before they are cropped) keeps
more spaces even without the decoder and costs no measurable time, so the defaults are
`det_limit_type="max"`, `det_unclip_ratio=2.0` and the decoder on. {misread} The decoder
never puts a space between two Chinese characters (Chinese is set solid; see `ocr_spaces.py`),
so "开往 机场" depends on the detector splitting it; `texts` in `--json` has every reading. The
angle classifier stays on (it costs {small["ours"]["det_cls_rec_median_ms"][1]:.0f} ms here and
is what reads a sign upside down). At 1280x720 both engines detect at about the frame's own size
(rapidocr 1.4 with `det_limit_type="max"` only shrinks frames over 1500 px and ignores
`det_limit_side_len`), so the gain there is small ({ocr_ratio(ocr, "1280x720"):.2f}x).
Shrinking such frames to 960 px first (`max_side_px`, the `ocr.max_side_px` setting; {trial})
is the lever there, at the price of detail on small, far signs; it is not the default. The
machine is shared with other jobs, so absolute milliseconds move by tens of percent from run to
run; the engines take turns on each frame in the same process, so their ratio is the figure to
trust.
{asr_note}
"""
    )
    return "\n".join(out) + "\n"


def write_section(doc: Path, body: str) -> None:
    text = doc.read_text()
    if MARK_START not in text or MARK_END not in text:
        raise SystemExit(f"{doc} has no {MARK_START} / {MARK_END} markers")
    head, rest = text.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    doc.write_text(f"{head}{MARK_START}\n{body}{MARK_END}{tail}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer passes and phrases (smoke)")
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    parser.add_argument(
        "--asr-model",
        type=Path,
        action="append",
        help="a speech model folder (SenseVoice, Moonshine, zipformer); repeat for several "
        "(default: $GLASSES_SENSEVOICE_DIR)",
    )
    parser.add_argument("--asr-threads", type=int, default=2)
    parser.add_argument("--skip", action="append", default=[], choices=["vad", "ocr", "asr"])
    parser.add_argument("--write", type=Path, help="replace the section between the markers")
    args = parser.parse_args(argv)
    argv_list = list(sys.argv[1:] if argv is None else argv)
    load_before = os.getloadavg()[0]

    report: dict[str, Any] = {
        "command": shlex.join(["python", "scripts/bench_perception.py", *argv_list]),
        "machine": machine_line(),
        "quick": args.quick,
    }
    with tempfile.TemporaryDirectory(prefix="bench-perception-") as tmp:
        workdir = Path(tmp)
        phrases = 2 if args.quick else 6
        if "vad" in args.skip and "asr" in args.skip:
            audio, voiced = np.zeros(RATE, np.float32), [(0, 0)]
        elif shutil.which("espeak-ng") is None:
            raise SystemExit("espeak-ng is not installed (apt install espeak-ng)")
        else:
            audio, voiced = speech_stream(workdir, phrases)
        if "vad" not in args.skip:
            report["vad"] = bench_vad(audio, voiced)
        if "ocr" not in args.skip:
            report["ocr_reps"] = 1 if args.quick else 3
            report["ocr"] = bench_ocr(report["ocr_reps"])
        report["asr"] = []
        if "asr" not in args.skip:
            sys.path.insert(0, str(ROOT / "tests"))
            from asr_support.tiny_moonshine import build_tiny_moonshine
            from asr_support.tiny_sensevoice import build_tiny_sensevoice
            from asr_support.tiny_zipformer import build_tiny_zipformer

            tiny = {
                "SenseVoice": build_tiny_sensevoice(workdir / "sv", language="en"),
                "Moonshine": build_tiny_moonshine(workdir / "moon").path,
                "zipformer": build_tiny_zipformer(workdir / "zip", script="latin").path,
            }
            for name, folder in tiny.items():
                label = f"tiny random-weight {name} (plumbing only)"
                report["asr"].append(bench_asr(label, folder, audio, voiced, args.asr_threads))
            real = args.asr_model or (
                [Path(os.environ["GLASSES_SENSEVOICE_DIR"])]
                if os.environ.get("GLASSES_SENSEVOICE_DIR")
                else []
            )
            for folder in real:
                report["asr"].append(
                    bench_asr(f"`{folder.name}`", folder, audio, voiced, args.asr_threads)
                )
            if not real:
                report["asr_note"] = "`$GLASSES_SENSEVOICE_DIR` unset, no `--asr-model`"
    report["load"] = f"{load_before:.2f} before the run, {os.getloadavg()[0]:.2f} after"
    ocr = report.get("ocr")
    report["goals"] = {
        "vad": bool("vad" in report and report["vad"]["vad_core_pct"] < 1.0),
        "ocr_speed": bool(ocr and ocr_ratio(ocr, "640x480") <= 0.8),
        "ocr_accuracy": bool(ocr and ocr_no_loss(ocr)),
    }
    markdown = render_markdown(report) if {"vad", "ocr"} <= report.keys() else ""
    if markdown:
        print(markdown)
    else:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    if args.write and markdown:
        write_section(args.write, markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
