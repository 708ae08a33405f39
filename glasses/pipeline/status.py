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
    uid = os.getuid() if uid is None else uid
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    """CPU seconds used so far and peak resident memory of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
    }


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
    peripherals = status.get("peripherals", {})
    if peripherals:
        lines.append("peripherals: " + ", ".join(f"{k} {v}" for k, v in peripherals.items()))
    providers = status.get("providers", {})
    if providers:
        lines.append("models run on: " + ", ".join(f"{k} {v}" for k, v in providers.items()))
    usage = status.get("process", {})
    lines.append(f"cpu {usage.get('cpu_s', 0)} s, peak rss {usage.get('peak_rss_mb', 0)} MB")
    latency = status.get("metrics", {}).get("latency", {})
    if latency:
        lines.append(f"{'latency':<34} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, h in latency.items():
            if h.get("count"):
                lines.append(
                    f"  {name:<32} {h['count']:>6} {h['p50_ms']:>8} {h['p95_ms']:>8} "
                    f"{h['max_ms']:>8}"
                )
    drops = {k: v["dropped"] for k, v in status.get("channels", {}).items() if v.get("dropped")}
    if drops:
        lines.append("dropped (keep-newest): " + ", ".join(f"{k} {v}" for k, v in drops.items()))
    return "\n".join(lines)
