"""The daemon's status file: a small JSON document rewritten every second, read by
``glasses status``.

It lives in the runtime directory (``$XDG_RUNTIME_DIR/glasses/status.json``, else
``/tmp/glasses-<uid>/status.json``) and is replaced atomically, so a reader never sees half of
it. It holds the mode, the peripherals, what each model runs on (``cuda``, ``cpu``...), the
channels' fill and drops, per-stage latency histograms, CPU time and peak memory.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any


class UnsafeDirectory(OSError):
    """The status / control directory could be changed by another user: not used."""


def private_dir(path: Path, uid: int | None = None) -> Path:
    """``path``, created 0700 if missing; refused if it belongs to another user than ``uid``
    (default: this process's) or other users may write into it.

    Without ``$XDG_RUNTIME_DIR`` the directory is in /tmp, where anyone could create it first
    and then rename the status file or plant files where the daemon's socket goes.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return safe_dir(path, uid)


def safe_dir(path: Path, uid: int | None = None) -> Path:
    """``path`` if it is safe to trust (see :func:`private_dir`), without creating it.

    ``glasses status`` and ``glasses mode`` check the daemon's directory too: a status file or
    a socket that another user planted there would show a false state or take the request.
    """
    uid = os.getuid() if uid is None else uid
    st = path.stat()
    if st.st_uid != uid:
        raise UnsafeDirectory(
            f"{path} belongs to uid {st.st_uid}, not to this user (uid {uid}): another user "
            "may have created it; not using it (remove it, or set XDG_RUNTIME_DIR)"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeDirectory(
            f"{path} is writable by other users (mode {stat.S_IMODE(st.st_mode):04o}); not "
            f"using it: run  chmod 700 {path}  or remove it"
        )
    return path


def default_status_path() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    base = Path(runtime) / "glasses" if runtime else Path(f"/tmp/glasses-{os.getuid()}")
    return base / "status.json"


def process_usage() -> dict[str, float]:
    """CPU seconds used so far, resident memory now and at its peak, and threads (Linux)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
    }
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        out["rss_mb"] = round(int(fields["VmRSS"].split()[0]) / 1024, 1)
        out["threads"] = int(fields["Threads"])
    except (OSError, KeyError, ValueError):  # not Linux
        pass
    if tracemalloc.is_tracing():  # PYTHONTRACEMALLOC=1: the Python heap, apart from the rest
        out["python_heap_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
    return out


def write_status(path: Path, status: dict[str, Any]) -> None:
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".status-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(status, out, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_status(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def format_status(status: dict[str, Any]) -> str:
    """The status as a few readable lines."""
    running = status.get("state") == "running" and pid_alive(int(status.get("pid", 0)))
    state = "running" if running else f"not running (last state: {status.get('state')})"
    lines = [
        f"glasses daemon: {state}, pid {status.get('pid')}, up {status.get('uptime_s', 0):.0f} s",
        f"mode {status.get('mode')}  display {status.get('display', {}).get('state')}  "
        f"llm {status.get('llm')}",
    ]
    power = status.get("power")
    if power:
        lines.append(power_line(power))
    if status.get("stop_reason"):
        lines.append(f"stopped itself: {status['stop_reason']}")
    peripherals = status.get("peripherals", {})
    if peripherals:
        lines.append("peripherals: " + ", ".join(f"{k} {v}" for k, v in peripherals.items()))
    providers = status.get("providers", {})
    if providers:
        lines.append("models run on: " + ", ".join(f"{k} {v}" for k, v in providers.items()))
    loaded = status.get("loaded", {})
    if loaded:
        lines.append(
            "loaded at start-up: "
            + ", ".join(
                f"{k} ({v.get('load_rss_mb', 0) + v.get('first_read_rss_mb', 0):.0f} MB with a "
                f"first read, {v.get('load_s', 0) + v.get('first_read_s', 0):.1f} s)"
                for k, v in loaded.items()
            )
        )
    usage = status.get("process", {})
    now = f"rss {usage['rss_mb']} MB, " if "rss_mb" in usage else ""
    threads = f", {usage['threads']} threads" if "threads" in usage else ""
    lines.append(
        f"cpu {usage.get('cpu_s', 0)} s, {now}peak rss {usage.get('peak_rss_mb', 0)} MB{threads}"
    )
    latency = status.get("metrics", {}).get("latency", {})
    if latency:
        # Quantiles come from fixed histogram buckets: the bucket's upper edge, an upper bound.
        lines.append(f"{'latency':<34} {'count':>6} {'p50 ≤ms':>8} {'p95 ≤ms':>8} {'max ms':>8}")
        for name, h in latency.items():
            if h.get("count"):
                lines.append(
                    f"  {name:<32} {h['count']:>6} {h['p50_ms']:>8} {h['p95_ms']:>8} "
                    f"{h['max_ms']:>8}"
                )
        lines.append(
            "  p50/p95 are histogram bucket edges (at most that); display.link_wait is time "
            "screens waited for the link to come back, not counted in the other figures"
        )
    drops = {k: v["dropped"] for k, v in status.get("channels", {}).items() if v.get("dropped")}
    if drops:
        lines.append("dropped (keep-newest): " + ", ".join(f"{k} {v}" for k, v in drops.items()))
    return "\n".join(lines)


def power_line(power: dict[str, Any]) -> str:
    """``power: idle for 40 s (nothing happened for 120 s), display asleep, listening; ...``"""
    line = f"power: {power.get('state')} for {power.get('for_s', 0):.0f} s ({power.get('why')})"
    line += f", display {power.get('display')} at {power.get('brightness')}"
    line += ", listening" if power.get("listening") else ", not listening"
    saving = power.get("saving") or []
    line += f"; saving: {', '.join(saving)}" if saving else ""
    battery = power.get("battery")
    if battery:
        line += f"; battery {battery['percent']} %" + (" charging" if battery["charging"] else "")
    for key, name in (("computer_c", "computer"), ("glasses_c", "glasses")):
        if power.get(key) is not None:
            line += f"; {name} {power[key]:.0f} °C"
    if power.get("throttled"):
        line += f" ({', '.join(power['throttled'])})"
    if power.get("power_mode"):
        line += f"; nvpmodel mode {power['power_mode']}"
        line += f" ({power['power_mode_name']})" if power.get("power_mode_name") else ""
    return line
