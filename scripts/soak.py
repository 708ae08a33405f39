"""Soak test: ``glasses run`` against the display simulator for a long time, sampled.

    python scripts/soak.py --minutes 120 --unplug-every-s 300 --out out/soak.json

Starts ``glasses-sim display --pty`` and ``glasses run`` as two processes. The daemon listens to
a speech file (espeak-ng phrases and silence, as long as the run; a voice-like buzz without
espeak-ng) and reads a sign from a camera folder. The script walks the modes in a cycle,
``--mode-s`` seconds each (captions, translate, read, assist), with the simulator's buttons:
double presses change mode, a press in read mode reads, a long press in assist mode asks the
next utterance as a question. Every ``--unplug-every-s`` the simulator unplugs the glasses for
``--unplug-s``. Every ``--sample-s`` it samples the daemon's resident memory, threads, open
files and CPU time (``/proc/PID``) and the latencies of its status file.

Tiny random-weight models are built in a temporary folder (``scripts/build_test_model.py``,
``scripts/build_test_asr_model.py``) unless ``--llm-model``/``--asr-model`` name real ones.

Goals, checked at the end (exit status 1 if one fails, 2 if the run could not start):

* resident memory grows less than 5 % after warm-up: from the end of the first cycle (every
  mode has run for ``--mode-s``, so for its first minute at the default) to the end of the
  run, and at most 5 % above the peak of the first cycle at any time after it (judged only
  when the run is longer than two cycles);
* no more threads or open files after the first cycle than during it;
* no error: the daemon is running throughout, logs no ERROR and no traceback.

``--out F.json`` writes the samples and the summary; ``F.csv`` next to it holds the samples.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES: Final = ("captions", "translate", "read", "assist")
PHRASES: Final = (
    ("下一站是西湖。", "zh"),
    ("Next stop: West Lake. Please exit by the front door.", "en"),
    ("请问火车站在哪里？", "zh"),
    ("What does the sign say, and how much is a ticket?", "en"),
)
GAP_S: Final = 2.5  # silence after each phrase: ends the utterance
READ_EVERY_S: Final = 12.0
ASK_EVERY_S: Final = 20.0
PRESS_RETRY_S: Final = 4.0  # a mode change not seen in the status by then is pressed again
TICK_S: Final = 0.5
GROWTH_GOAL: Final = 0.05
ERROR_MARKERS: Final = (" ERROR ", " CRITICAL ", "Traceback (most recent call last)")


@dataclass
class Sample:
    t_s: float
    mode: str
    rss_mb: float
    threads: int
    fds: int
    cpu_s: float
    display: str
    reads: int
    screens: int
    e2e_p95_ms: float
    link_wait_ms: float
    python_heap_mb: float  # with --tracemalloc; else 0


def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def proc_sample(pid: int) -> tuple[float, int, int, float]:
    """(VmRSS MB, threads, open fds, CPU seconds) of process ``pid``."""
    fields: dict[str, str] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read().rsplit(")", 1)[1].split()
    cpu_s = (int(stat[11]) + int(stat[12])) / _clock_ticks()  # utime, stime
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"]), fds, cpu_s


def speech_file(path: Path, seconds: float) -> Path:
    """FLAC of the phrases and silences, repeated for ``seconds``."""
    import numpy as np
    import soundfile as sf

    from glasses.runtime import media

    voices = [media.utterance(text, lang) for text, lang in PHRASES]
    cycle = np.concatenate([x for v in voices for x in (v, media.silence(GAP_S))])
    rate = 16_000
    total = int(seconds * rate)
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=1, format="FLAC") as out:
        written = 0
        while written < total:
            block = cycle[: total - written]
            out.write(block)
            written += len(block)
    return path


def build_models(folder: Path) -> tuple[Path, Path]:
    llm, asr = folder / "llm", folder / "asr"
    for script, out in (("build_test_model.py", llm), ("build_test_asr_model.py", asr)):
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / script), str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return llm, asr


class Soak:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.status_path = work / "run" / "glasses" / "status.json"
        self.samples: list[Sample] = []
        self.events: list[dict[str, Any]] = []
        self.presses = {"double": 0, "press": 0, "long": 0}
        self.unplugs = 0
        self.errors: list[str] = []

    # -- set-up ------------------------------------------------------------------------------

    def start(self) -> None:
        from glasses.runtime.media import sign_image
        from hw_sim.launcher import SimulatorProcess

        a, work = self.args, self.work
        if a.llm_model and a.asr_model:
            llm, asr = Path(a.llm_model), Path(a.asr_model)
        else:
            built = build_models(work / "models")
            llm, asr = Path(a.llm_model or built[0]), Path(a.asr_model or built[1])
        camera = work / "camera"
        camera.mkdir()
        from PIL import Image

        Image.fromarray(sign_image()[:, :, ::-1]).save(camera / "sign.png")
        speech = speech_file(work / "speech.flac", a.minutes * 60 + 120)
        sim_args = ["--pty", "--link", str(work / "tty"), "--profile", a.profile, "--web-port"]
        self.sim = SimulatorProcess(*sim_args, "0", "-q", log_path=work / "sim.log")
        (work / "run").mkdir(mode=0o700)
        overrides = [
            f"display.url={self.sim.url}",
            f"audio.source=file:{speech}",
            f"camera.source={camera}",
            "camera.idle_close_s=0",
            f"llm.model={llm}",
            f"asr.model_dir={asr}",
            "llm.max_new_tokens=24",
            f"log.status_file={self.status_path}",
            "log.status_interval_s=1",
        ]
        cmd = [sys.executable, "-c", "import sys; from glasses.cli import main; sys.exit(main())"]
        cmd += ["run", *(x for o in overrides for x in ("--set", o))]
        env = {**os.environ, "XDG_RUNTIME_DIR": str(work / "run")}
        if a.tracemalloc:  # the status file then holds the Python heap: a leak there or not
            env["PYTHONTRACEMALLOC"] = "1"
        self.daemon_log_path = work / "daemon.log"
        self.daemon_log = self.daemon_log_path.open("w")
        self.daemon = subprocess.Popen(
            cmd, stdout=self.daemon_log, stderr=subprocess.STDOUT, env=env, cwd=work
        )
        deadline = time.monotonic() + a.start_timeout_s
        while self.status().get("state") != "running":
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the daemon did not start:\n{self.daemon_log_path.read_text()[-3000:]}"
                )
            time.sleep(TICK_S)

    def stop(self) -> None:
        daemon = getattr(self, "daemon", None)
        if daemon is not None:
            if daemon.poll() is None:
                daemon.terminate()
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
            self.daemon_log.close()
        sim = getattr(self, "sim", None)
        if sim is not None:
            sim.stop()

    # -- driving -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.status_path.read_text("utf-8"))
            return data
        except (OSError, ValueError):
            return {}

    def press(self, action: str) -> None:
        code, reply = self.sim.post("/api/event", {"kind": "button", "action": action})
        if code != 200:
            self.errors.append(f"simulator refused a {action} press: {code} {reply}")
        self.presses[action] += 1

    def run(self) -> None:
        a = self.args
        started = time.monotonic()
        end = started + a.minutes * 60
        next_sample = started
        last_double = last_read = last_ask = -1e9
        next_unplug = started + a.unplug_every_s if a.unplug_every_s > 0 else float("inf")
        while True:
            now = time.monotonic()
            if now >= end:
                break
            if self.daemon.poll() is not None:
                self.errors.append(f"the daemon exited with status {self.daemon.returncode}")
                break
            status = self.status()
            t = now - started
            wanted = MODES[int(t // a.mode_s) % len(MODES)]
            mode = status.get("mode")
            connected = status.get("display", {}).get("state") == "connected"
            if mode != wanted and connected and now - last_double > PRESS_RETRY_S:
                self.press("double")
                last_double = now
            elif mode == "read" and connected and now - last_read > READ_EVERY_S:
                self.press("press")
                last_read = now
            elif mode == "assist" and connected and now - last_ask > ASK_EVERY_S:
                self.press("long")
                last_ask = now
            if now >= next_unplug:
                code, _ = self.sim.post("/api/unplug", {"duration_s": a.unplug_s})
                self.unplugs += code == 200
                self.events.append({"t_s": round(t, 1), "unplug_s": a.unplug_s})
                next_unplug += a.unplug_every_s
            if now >= next_sample:
                self.sample(t, status)
                next_sample += a.sample_s
            time.sleep(TICK_S)  # the script's own cadence
        self.sample(time.monotonic() - started, self.status())

    def sample(self, t: float, status: dict[str, Any]) -> None:
        try:
            rss, threads, fds, cpu = proc_sample(self.daemon.pid)
        except (OSError, ValueError, IndexError, KeyError):
            return  # exited: reported by run()
        latency = status.get("metrics", {}).get("latency", {})
        e2e = [h.get("p95_ms", 0.0) for k, h in latency.items() if k.startswith("e2e.")]
        wait = latency.get("display.link_wait", {}).get("max_ms", 0.0)
        stats = status.get("display", {}).get("stats", {})
        s = Sample(
            round(t, 1),
            str(status.get("mode")),
            round(rss, 1),
            threads,
            fds,
            round(cpu, 2),
            str(status.get("display", {}).get("state")),
            int(status.get("stages", {}).get("ocr", 0)),
            int(stats.get("presents_acked", 0)),
            max(e2e, default=0.0),
            float(wait),
            float(status.get("process", {}).get("python_heap_mb", 0.0)),
        )
        self.samples.append(s)
        if self.args.verbose:
            print(
                f"{s.t_s:8.0f} s {s.mode:<9} rss {s.rss_mb:7.1f} MB  threads {s.threads:3}  "
                f"fds {s.fds:3}  cpu {s.cpu_s:8.1f} s  py {s.python_heap_mb:5.1f} MB  "
                f"{s.display}",
                flush=True,
            )

    # -- judging -----------------------------------------------------------------------------

    def log_errors(self) -> list[str]:
        text = self.daemon_log_path.read_text("utf-8", errors="replace")
        return [line for line in text.splitlines() if any(m in line for m in ERROR_MARKERS)]

    def summary(self) -> dict[str, Any]:
        a, samples = self.args, self.samples
        cycle_s = a.mode_s * len(MODES)
        first = [s for s in samples if s.t_s <= cycle_s]
        after = [s for s in samples if s.t_s > cycle_s]
        goals: dict[str, dict[str, Any]] = {}
        if first and after and samples[-1].t_s >= 2 * cycle_s:
            base = first[-1].rss_mb
            peak = max(s.rss_mb for s in first)
            growth = samples[-1].rss_mb / base - 1
            over_peak = max(s.rss_mb for s in after) / peak - 1
            goals["rss_growth"] = {
                "ok": growth < GROWTH_GOAL and over_peak < GROWTH_GOAL,
                "after_first_cycle_mb": base,
                "first_cycle_peak_mb": peak,
                "end_mb": samples[-1].rss_mb,
                "growth": round(growth, 4),
                "max_over_first_cycle_peak": round(over_peak, 4),
            }
            for key in ("threads", "fds"):
                before = max(getattr(s, key) for s in first)
                most = max(getattr(s, key) for s in after)
                goals[key] = {"ok": most <= before, "first_cycle_max": before, "after_max": most}
        else:
            goals["rss_growth"] = {"ok": None, "why": "run shorter than two mode cycles"}
        errors = self.errors + self.log_errors()
        goals["errors"] = {"ok": not errors, "count": len(errors), "first": errors[:10]}
        status = self.status()
        rss_mb: dict[str, float] = {}
        if samples:
            rss = [s.rss_mb for s in samples]
            rss_mb = {"start": rss[0], "end": rss[-1], "max": max(rss)}
        return {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "minutes": a.minutes,
            "mode_s": a.mode_s,
            "unplug_every_s": a.unplug_every_s,
            "unplug_s": a.unplug_s,
            "cpus": os.cpu_count(),
            "presses": self.presses,
            "unplugs": self.unplugs,
            "samples": len(samples),
            "rss_mb": rss_mb,
            "threads": sorted({s.threads for s in samples}),
            "fds": sorted({s.fds for s in samples}),
            "cpu_s": samples[-1].cpu_s if samples else 0.0,
            "loaded": status.get("loaded", {}),
            "stages": status.get("stages", {}),
            "latency": status.get("metrics", {}).get("latency", {}),
            "counters": status.get("metrics", {}).get("counters", {}),
            "goals": goals,
        }


def write_out(path: Path, soak: Soak, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"summary": summary, "events": soak.events, "samples": [asdict(s) for s in soak.samples]}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
    with path.with_suffix(".csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(Sample.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(s) for s in soak.samples)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=120.0, help="length of the run (120)")
    p.add_argument("--mode-s", type=float, default=60.0, help="seconds in each mode (60)")
    p.add_argument("--unplug-every-s", type=float, default=300.0, help="0: never (300)")
    p.add_argument("--unplug-s", type=float, default=5.0, help="how long unplugged (5)")
    p.add_argument("--sample-s", type=float, default=10.0, help="sampling interval (10)")
    p.add_argument("--out", type=Path, help="samples and summary: F.json and F.csv")
    p.add_argument("--llm-model", help="language model folder (default: a tiny one, built)")
    p.add_argument("--asr-model", help="speech model folder (default: a tiny one, built)")
    p.add_argument("--profile", default="640x400x4", help="simulated display (640x400x4)")
    p.add_argument("--start-timeout-s", type=float, default=120.0)
    p.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the daemon's Python heap (PYTHONTRACEMALLOC=1; slower), sampled apart",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print every sample")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="glasses-soak-") as tmp:
        soak = Soak(args, Path(tmp))
        try:
            soak.start()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            soak.stop()
            print(f"soak: {exc}", file=sys.stderr)
            return 2
        try:
            soak.run()
        finally:
            soak.stop()
        summary = soak.summary()
    if args.out:
        write_out(args.out, soak, summary)
    print(
        json.dumps(
            {k: v for k, v in summary.items() if k != "latency"}, indent=1, ensure_ascii=False
        )
    )
    failed = [name for name, goal in summary["goals"].items() if goal["ok"] is False]
    print("goals: " + (f"FAILED {', '.join(failed)}" if failed else "met (or not judged)"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
