"""``glasses serve`` under slow-loris: how much 200 trickling connections delay a normal request.

    python scripts/bench_serve.py --slow 200 --requests 50 --write docs/benchmarks.md

Starts the server in a child process as ``glasses serve`` runs it (``ChatServer`` and
``serve_forever``: the ASGI application on uvicorn with the guarded h11 protocol, the
``ServerConfig`` defaults, an API key) on 127.0.0.1 and a free port, with a stand-in engine that
answers every chat with the same three deltas at once: what is measured is the HTTP stack, not
a model. Then ``--requests`` ordinary chat completions (each on a fresh connection, one every
``--interval-s``) are timed from the connect to the whole answer, first with no other client,
then while ``--slow`` connections each send a request head a byte every ``--trickle-s``. The
server cuts a trickler off at its whole-request deadline (``--request-timeout-s``, default that
of ``glasses serve``); it is opened again at once, as an attacker would, so ``--slow`` stay
open throughout. Goal (issue #11): every request answered, none delayed by 1 s or more over the
median without tricklers. Exit status 1 when the goal is missed, 2 when the server did not
start.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(ROOT))

MARK_START: Final = "<!-- bench_serve:start -->"
MARK_END: Final = "<!-- bench_serve:end -->"
GOAL_ADDED_MS: Final = 1000.0
KEY: Final = "sk-bench-serve"
DELTAS: Final = ("Hello", ", ", "world")
BODY: Final = json.dumps({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}).encode()
SLOW_HEAD: Final = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "


class FixedEngine:
    """The server's engine for this bench: the same three deltas at once, whatever is asked."""

    def __init__(self) -> None:
        from glasses.llm import SamplingConfig

        self.default_sampling = SamplingConfig(greedy=True)

    def stream(self, messages: Sequence[Any], options: Any = None, cancel: Any = None) -> Any:
        from glasses.llm import GenerationResult, TextStream

        result = GenerationResult()
        return TextStream(self._run(result), result)

    def _run(self, result: Any) -> Iterator[str]:
        from glasses.llm import Timings

        for i, delta in enumerate(DELTAS):
            result.text += delta
            result.token_ids.append(i)
            yield delta
        result.finish_reason = "eos"
        result.timings = Timings(3, 0, len(DELTAS), 0.0, 0.0, 0.0)


def serve_child(request_timeout_s: float) -> int:
    """The child process: ``glasses serve``'s server on a free port, which it prints."""
    from glasses.server import ChatServer, ServerConfig

    config = ServerConfig(port=0, api_key=KEY, request_timeout_s=request_timeout_s)
    server = ChatServer(FixedEngine(), config)
    print(server.port, flush=True)
    try:
        server.serve_forever()  # uvicorn stops on SIGTERM, as under `glasses serve`
    finally:
        server.close()
    return 0


class Server:
    """The child process, started and stopped."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.log_path = work / "server.log"
        cmd = [sys.executable, __file__, "--serve-child"]
        cmd += ["--request-timeout-s", str(args.request_timeout_s)]
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.proc.stdout is not None
        ready = selectors.DefaultSelector()
        ready.register(self.proc.stdout, selectors.EVENT_READ)
        line = self.proc.stdout.readline() if ready.select(args.start_timeout_s) else ""
        if not line.strip().isdigit():
            self.stop()
            log_text = self.log_path.read_text()[-3000:]
            raise RuntimeError(f"the server did not start; its log:\n{log_text}")
        self.port = int(line)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Tricklers:
    """``count`` slow-loris connections, each sending a request head a byte every
    ``trickle_s``; one the server closes is opened again at once (:attr:`reopened` counts)."""

    def __init__(self, port: int, count: int, trickle_s: float) -> None:
        self.port, self.trickle_s = port, trickle_s
        self.reopened = 0
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # a reopened connection is never missing from the count
        for _ in range(count):
            self._open()
        self._thread = threading.Thread(target=self._run, name="tricklers", daemon=True)
        self._thread.start()

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._selector.get_map())

    def _open(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(SLOW_HEAD)
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ)

    def _reopen(self, sock: socket.socket) -> None:
        with self._lock:
            self._selector.unregister(sock)
            sock.close()
            self.reopened += 1
            self._open()

    def _run(self) -> None:
        next_tick = time.monotonic() + self.trickle_s
        while not self._stop.is_set():
            for key, _ in self._selector.select(max(0.0, next_tick - time.monotonic())):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    closed = not sock.recv(4096)  # the server sends nothing before it closes
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    self._reopen(sock)
            if time.monotonic() >= next_tick:
                next_tick += self.trickle_s
                for key in list(self._selector.get_map().values()):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        sock.send(b"a")
                    except BlockingIOError:
                        pass
                    except OSError:
                        self._reopen(sock)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()


def chat(port: int, timeout_s: float) -> tuple[float, str | None]:
    """One chat completion on a fresh connection: (seconds, None) or (seconds, what failed)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    try:
        conn.request("POST", "/v1/chat/completions", BODY, headers)
        answer = conn.getresponse()
        payload = answer.read()
        problem = None if answer.status == 200 else f"HTTP {answer.status}: {payload[:200]!r}"
    except (OSError, http.client.HTTPException) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return time.perf_counter() - started, problem


def timed(port: int, args: argparse.Namespace) -> dict[str, Any]:
    """``--requests`` chats, one every ``--interval-s``: their latencies and failures."""
    latencies_ms: list[float] = []
    failures: list[str] = []
    next_at = time.monotonic()
    for _ in range(args.requests):
        time.sleep(max(0.0, next_at - time.monotonic()))  # the bench's own cadence
        next_at += args.interval_s
        seconds, problem = chat(port, args.client_timeout_s)
        latencies_ms.append(seconds * 1000)
        if problem is not None:
            failures.append(problem)
    ordered = sorted(latencies_ms)
    return {
        "requests": len(ordered),
        "failed": len(failures),
        "failures": failures[:5],
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 2),  # nearest rank
        "max_ms": round(ordered[-1], 2),
        "latencies_ms": [round(x, 2) for x in latencies_ms],
    }


def measure(args: argparse.Namespace, port: int) -> dict[str, Any]:
    for _ in range(3):  # warm-up: imports, first connections
        chat(port, args.client_timeout_s)
    alone = timed(port, args)
    tricklers = Tricklers(port, args.slow, args.trickle_s)
    try:
        time.sleep(args.settle_s)  # every trickler has sent a few bytes
        open_before = tricklers.open_count
        loaded = timed(port, args)
        slow = {
            "connections": args.slow,
            "open_before": open_before,
            "open_after": tricklers.open_count,
            "reopened_after_the_deadline": tricklers.reopened,
        }
    finally:
        tricklers.close()
    base = alone["median_ms"]
    added = {name: round(loaded[f"{name}_ms"] - base, 2) for name in ("median", "p95", "max")}
    met = loaded["failed"] == 0 and added["max"] < GOAL_ADDED_MS
    return {
        "alone": alone,
        "with_slow_loris": loaded,
        "slow_loris": slow,
        "added_delay_ms": added,
        "goal": {"limit_ms": GOAL_ADDED_MS, "met": met},
    }


def machine() -> dict[str, Any]:
    import uvicorn

    return {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "uvicorn": uvicorn.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def markdown(report: dict[str, Any]) -> str:
    """The section ``--write`` puts between the markers."""
    m, a, w = report["machine"], report["alone"], report["with_slow_loris"]
    s, d, goal = report["slow_loris"], report["added_delay_ms"], report["goal"]
    cfg = report["settings"]
    verdict = "**met**" if goal["met"] else "**not met**"

    def row(name: str, r: dict[str, Any]) -> str:
        answered = f"{r['requests'] - r['failed']} of {r['requests']}"
        return f"| {name} | {answered} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} |"

    lines = [
        MARK_START,
        "## glasses serve under slow-loris (`scripts/bench_serve.py`)",
        "",
        f"    .venv/bin/python {report['command']}",
        "",
        fill(
            f"{m['machine']}, {m['cpus']} cores shared with other work (load average "
            f"{m['load_average'][0]:g} at the end), Python {m['python']}, uvicorn {m['uvicorn']}, "
            f"{m['date']}. The server as `glasses serve` runs it (`ChatServer.serve_forever`, "
            f"default limits: {cfg['max_connections']} connections, a "
            f"{cfg['request_timeout_s']:g} s whole-request deadline, an API key) in its own process "
            f"on 127.0.0.1, with a stand-in engine that answers at once: the figures are the HTTP "
            f"stack's. {w['requests']} chat completions, each on a fresh connection, one every "
            f"{cfg['interval_s']:g} s, timed from the connect to the whole answer; first alone, "
            f"then while {s['connections']} connections each trickled a request head a byte every "
            f"{cfg['trickle_s']:g} s (open {s['open_before']} before and {s['open_after']} after "
            f"the timed requests; {s['reopened_after_the_deadline']} cut off by the deadline and "
            f"opened again at once, as an attacker would)."
        ),
        "",
        "| requests | answered | median ms | p95 ms | max ms |",
        "| --- | --- | ---: | ---: | ---: |",
        row("alone", a),
        row(f"beside {s['connections']} slow-loris connections", w),
        "",
        fill(
            f"Added delay against the median alone: median {d['median']:+.1f} ms, p95 "
            f"{d['p95']:+.1f} ms, max {d['max']:+.1f} ms. Goal (issue #11): every request "
            f"answered and none delayed by {goal['limit_ms'] / 1000:g} s or more: {verdict}."
        ),
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


def fill(paragraph: str) -> str:
    return textwrap.fill(paragraph, 96, break_on_hyphens=False, break_long_words=False)


def write_section(path: Path, section: str) -> None:
    """Replaces this bench's section between its markers, or appends it."""
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        tail = rest.split(MARK_END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, "utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--slow", type=int, default=200, help="slow-loris connections (200)")
    p.add_argument("--requests", type=int, default=50, help="timed chat completions (50)")
    p.add_argument("--interval-s", type=float, default=0.3, help="between requests (0.3)")
    p.add_argument("--trickle-s", type=float, default=1.0, help="a byte this often (1.0)")
    p.add_argument("--settle-s", type=float, default=2.0, help="tricklers alone first (2.0)")
    p.add_argument(
        "--request-timeout-s", type=float, default=None, help="server deadline (serve's default)"
    )
    p.add_argument("--client-timeout-s", type=float, default=30.0, help="per request (30)")
    p.add_argument("--start-timeout-s", type=float, default=60.0)
    p.add_argument("--json", type=Path, metavar="OUT", help="write the report here as JSON")
    p.add_argument("--write", type=Path, metavar="MD", help="put the section into this file")
    p.add_argument("--serve-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.request_timeout_s is None:
        from glasses.server.config import ServerConfig

        args.request_timeout_s = ServerConfig().request_timeout_s
    if args.serve_child:
        return serve_child(args.request_timeout_s)
    if args.slow < 0 or args.requests < 1 or min(args.interval_s, args.trickle_s) <= 0:
        p.error("need --slow >= 0, --requests >= 1, --interval-s and --trickle-s > 0")
    from glasses.server.config import ServerConfig

    defaults = ServerConfig()
    with tempfile.TemporaryDirectory(prefix="glasses-bench-serve-") as tmp:
        try:
            server = Server(args, Path(tmp))
        except (RuntimeError, OSError) as exc:
            print(f"bench_serve: {exc}", file=sys.stderr)
            return 2
        try:
            report = measure(args, server.port)
        finally:
            server.stop()
    report = {
        "command": " ".join(["scripts/bench_serve.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "settings": {
            "max_connections": defaults.max_connections,
            "request_timeout_s": args.request_timeout_s,
            "interval_s": args.interval_s,
            "trickle_s": args.trickle_s,
        },
        **report,
    }
    section = markdown(report)
    print(section)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    if args.write:
        write_section(args.write, section)
    return 0 if report["goal"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
