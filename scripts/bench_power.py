"""A day on one battery, in miniature: ``glasses run`` on the display simulator through the
wearer's states, with what each costs.

    python scripts/bench_power.py --phase-s 120 --out out/power.json

Starts ``glasses-sim display --pty`` and ``glasses run`` as two processes (the pieces of
``scripts/soak.py``: its tiny models, speech file and ``/proc`` sampling), then goes through the
phases, ``--phase-s`` seconds each: worn and talking (captions of a speech file), worn and
silent (the file goes quiet; the display dims after ``power.dim_after_s`` and sleeps after
``power.sleep_after_s``), reading signs (Read mode, a press every 12 s), taken off (the
simulator's wear sensor says so). The first ``--settle-s`` of each phase is left out. Then
``--put-on`` times taken off and put on again, each put-on timed (``scripts/wake_timing.py``).

For each phase: the daemon's CPU seconds per minute (all threads: ``/proc/PID/stat``), its
wake-ups per second (voluntary and involuntary context switches summed over
``/proc/PID/task/*/status``), the share of the time the panel was awake (the simulator's
``sleeping``, sampled every 0.25 s) and the bytes sent to the glasses (``bytes_tx`` of the
link, from the status file). Goals: taken off under 0.5 % of one core with the panel asleep;
worn and silent under 2 % of one core; put on again, the panel awake with the last screen
within 300 ms and listening again within 500 ms. Exit status 1 when a goal is missed, 2 when
the run could not start.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "scripts"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import soak  # noqa: E402
import wake_timing  # noqa: E402

PHASES: Final = ("talking", "silent", "reading", "taken_off")
READ_EVERY_S: Final = 12.0
SAMPLE_S: Final = 0.25
GOALS: Final = {"taken_off": 0.5, "silent": 2.0}  # % of one core


def wakeups(pid: int) -> int:
    """Context switches of every thread of ``pid`` so far (a thread that ended is not in it)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text("ascii").splitlines():
                if "ctxt_switches:" in line:  # voluntary_ and nonvoluntary_
                    total += int(line.split(":")[1])
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
    return total


def day_audio(work: Path, phase_s: float) -> Path:
    """Talk for the first phase, then silence for the rest of the day."""
    import numpy as np
    import soundfile as sf

    talk, _ = sf.read(str(soak.speech_file(work / "talk.flac", phase_s)), dtype="float32")
    quiet = np.zeros(int((len(PHASES) * phase_s + 120) * 16_000), dtype=np.float32)
    path = work / "day.flac"
    sf.write(str(path), np.concatenate([talk, quiet]), 16_000, format="FLAC")
    return path


class Day:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.status_path = work / "run" / "glasses" / "status.json"

    def start(self) -> None:
        from PIL import Image

        from glasses.runtime.media import sign_image
        from hw_sim.launcher import SimulatorProcess

        a, work = self.args, self.work
        llm, asr = soak.build_models(work / "models")
        camera = work / "camera"
        camera.mkdir()
        Image.fromarray(sign_image()[:, :, ::-1]).save(camera / "sign.png")
        audio = day_audio(work, a.phase_s)
        sim_args = ["--pty", "--link", str(work / "tty"), "--profile", a.profile, "--web-port"]
        self.sim = SimulatorProcess(*sim_args, "0", "-q", log_path=work / "sim.log")
        (work / "run").mkdir(mode=0o700)
        overrides = [
            f"display.url={self.sim.url}",
            f"audio.source=file:{audio}",
            f"camera.source={camera}",
            f"llm.model={llm}",
            f"asr.model_dir={asr}",
            "llm.max_new_tokens=24",
            f"log.status_file={self.status_path}",
            *a.set,
        ]
        cmd = [sys.executable, "-c", "import sys; from glasses.cli import main; sys.exit(main())"]
        cmd += ["run", *(x for o in overrides for x in ("--set", o))]
        env = {**os.environ, "XDG_RUNTIME_DIR": str(work / "run")}
        self.log_path = work / "daemon.log"
        self.log = self.log_path.open("w")
        self.daemon = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + a.start_timeout_s
        while self.status().get("state") != "running":
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the daemon did not start:\n{self.log_path.read_text()[-3000:]}"
                )
            time.sleep(SAMPLE_S)

    def stop(self) -> None:
        if getattr(self, "daemon", None) is not None:
            self.daemon.terminate()
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
            self.log.close()
        if getattr(self, "sim", None) is not None:
            self.sim.stop()

    def status(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.status_path.read_text("utf-8"))
            return data
        except (OSError, ValueError):  # not written yet, or being replaced
            return {}

    def event(self, body: dict[str, Any]) -> None:
        code, reply = self.sim.post("/api/event", body)
        if code != 200:
            raise RuntimeError(f"the simulator refused {body}: {code} {reply}")

    def counters(self) -> tuple[float, int, int]:
        """(CPU seconds, context switches, bytes sent to the glasses) now."""
        cpu_s = soak.proc_sample(self.daemon.pid)[3]
        sent = int(self.status().get("display", {}).get("stats", {}).get("bytes_tx", 0))
        return cpu_s, wakeups(self.daemon.pid), sent

    def phase(self, name: str) -> dict[str, Any]:
        a = self.args
        if name == "reading":  # captions -> translate -> read
            for _ in range(2):
                self.event({"kind": "button", "action": "double"})
        if name == "taken_off":
            self.event({"kind": "worn", "worn": False})
        started = time.monotonic()
        measured_from = started + a.settle_s
        first: tuple[float, int, int] | None = None
        awake = samples = 0
        next_read = started
        while (now := time.monotonic()) < started + a.phase_s:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited:\n{self.log_path.read_text()[-3000:]}")
            if name == "reading" and now >= next_read:
                self.event({"kind": "button", "action": "press"})
                next_read += READ_EVERY_S
            if now >= measured_from:
                if first is None:
                    first, first_s = self.counters(), now
                samples += 1
                awake += not self.sim.state()["sleeping"]
            time.sleep(SAMPLE_S)  # the bench's own cadence
        assert first is not None, "--settle-s must be shorter than --phase-s"
        last, seconds = self.counters(), time.monotonic() - first_s
        cpu_percent = 100 * (last[0] - first[0]) / seconds
        return {
            "seconds": round(seconds, 1),
            "cpu_s_per_min": round(60 * (last[0] - first[0]) / seconds, 3),
            "cpu_percent_of_one_core": round(cpu_percent, 2),
            "wakeups_per_s": round((last[1] - first[1]) / seconds, 1),
            "display_on_share": round(awake / max(1, samples), 3),
            "bytes_to_glasses_per_min": round(60 * (last[2] - first[2]) / seconds),
            "power": self.status().get("power"),
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--phase-s", type=float, default=120.0, help="seconds in each state (120)")
    p.add_argument("--settle-s", type=float, default=10.0, help="left out of each phase (10)")
    p.add_argument("--profile", default="640x400x4", help="simulated display (640x400x4)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting")
    p.add_argument("--put-on", type=int, default=10, help="put-ons timed at the end (10)")
    p.add_argument("--start-timeout-s", type=float, default=120.0)
    p.add_argument("--out", type=Path, help="write the results here as JSON")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="glasses-power-") as tmp:
        day = Day(args, Path(tmp))
        try:
            day.start()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            day.stop()
            print(f"bench_power: {exc}", file=sys.stderr)
            return 2
        try:
            phases = {name: day.phase(name) for name in PHASES}
            put_on = wake_timing.put_on(day, args.put_on) if args.put_on > 0 else None
        finally:
            day.stop()
    goals = {
        name: {"ok": phases[name]["cpu_percent_of_one_core"] < limit, "limit_percent": limit}
        for name, limit in GOALS.items()
    }
    goals["taken_off"]["ok"] &= phases["taken_off"]["display_on_share"] == 0.0
    if put_on is not None:
        goals |= {f"put_on_{name}": goal for name, goal in put_on.pop("goals").items()}
    result = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "phases": phases,
        "put_on": put_on,
        "goals": goals,
    }
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", "utf-8")
    print(text)
    return 0 if all(g["ok"] for g in goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
