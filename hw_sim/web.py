"""Live view and remote control over HTTP on 127.0.0.1 (stdlib only).

GET ``/`` (the page), ``/screen.png``, ``/api/state``; POST ``/api/event``, ``/api/unplug``,
``/api/reboot``, ``/api/faults``, ``/api/snapshot``. Handlers never touch the device: they
read the published state or queue a command for the I/O thread (:mod:`hw_sim.state`).

The browser is hostile: any page the developer visits may send requests here. So every
request must name this server in ``Host`` (no DNS rebinding), a POST must be JSON (which no
cross-site "simple" request can be) from this page's origin or from no browser at all, and a
request has a size limit and a deadline for arriving. Snapshots go into ``--save-dir`` under
names the simulator chooses; no request names a file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Final

from hw_sim.faults import FaultSettings
from hw_sim.script import Reboot, parse_event_json
from hw_sim.server import Simulator
from hw_sim.snapshots import save_new_png
from hw_sim.state import BusyError

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 64 * 1024
MAX_REQUEST_BYTES: Final = MAX_BODY_BYTES + 32 * 1024
"""Request line, headers and body together."""
REQUEST_DEADLINE_S: Final = 10.0
"""A whole request must arrive within this time (a slow sender cannot hold a thread)."""
WRITE_TIMEOUT_S: Final = 10.0
_WIRE_KEYS: Final = ("drop_rate", "flip_rate", "latency_ms")
_DIGITS: Final = re.compile(r"[0-9]{1,9}")  # Content-Length: no sign, no spaces, no hex


class ApiError(ValueError):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _number(body: dict[str, object], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise ValueError(f"{key} must be a finite number")
    return float(value)


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a number the API takes")


class _DeadlineReader(io.RawIOBase):
    """The socket as read by one request: at most ``max_bytes``, all before ``deadline_s``
    (time.monotonic); past the size it reads as the end of the stream and sets ``exceeded``."""

    def __init__(self, sock: socket.socket, deadline_s: float, max_bytes: int) -> None:
        self._sock, self._deadline_s, self._left = sock, deadline_s, max_bytes
        self.exceeded = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            self.exceeded = True
            return 0
        left_s = self._deadline_s - time.monotonic()
        if left_s <= 0:
            raise TimeoutError("the request took too long to arrive")
        self._sock.settimeout(left_s)
        n = self._sock.recv_into(memoryview(buffer)[: self._left])
        self._left -= n
        return n


def unplug_duration_s(body: dict[str, object]) -> float:
    """``duration_s`` of a POST /api/unplug (default 1 s, at most an hour)."""
    duration_s = _number(body, "duration_s", 1.0)
    if not 0 <= duration_s <= 3600:
        raise ValueError("duration_s must be within 0..3600")
    return duration_s


def merge_faults(current: FaultSettings, body: dict[str, object]) -> FaultSettings:
    """Apply ``{drop_rate, flip_rate, latency_ms, slow_ms, direction}`` to ``current``;
    ``direction`` is ``both`` (default), ``to_device`` or ``to_host``."""
    direction = body.get("direction", "both")
    if direction not in ("both", "to_device", "to_host"):
        raise ValueError("direction must be both, to_device or to_host")
    wires = {}
    for name in ("to_device", "to_host"):
        wire = getattr(current, name)
        if direction in ("both", name):
            changes = {k: _number(body, k, getattr(wire, k)) for k in _WIRE_KEYS}
            wire = dataclasses.replace(wire, **changes)
        wires[name] = wire
    slow_ms = _number(body, "slow_ms", current.slow_ms)
    return FaultSettings(wires["to_device"], wires["to_host"], slow_ms)


class Handler(BaseHTTPRequestHandler):
    sim: Simulator  # set on the subclass made by WebServer
    origin: str  # http://127.0.0.1:PORT, likewise
    server_version = "glasses-sim"

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by one with a size limit and a deadline
        deadline_s = time.monotonic() + REQUEST_DEADLINE_S
        self._reader = _DeadlineReader(self.connection, deadline_s, MAX_REQUEST_BYTES)
        self.rfile = io.BufferedReader(self._reader)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        try:
            self._check_request()
        except ApiError as exc:
            self._json(exc.status, {"error": str(exc)})
            return
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            page = resources.files("hw_sim").joinpath("web/index.html").read_bytes()
            self._reply(HTTPStatus.OK, page, "text/html; charset=utf-8")
        elif path == "/screen.png":
            png = self.sim.shared.png()
            if png is None:
                self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "no screen yet"})
            else:
                self._reply(HTTPStatus.OK, png, "image/png")
        elif path == "/api/state":
            self._json(HTTPStatus.OK, self.sim.shared.state())
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page {path}"})

    def do_POST(self) -> None:
        try:
            self._check_request()
            self._check_post()
            body = self._body()
            result = self._post(self.path.split("?", 1)[0], body)
        except ApiError as exc:
            self._json(exc.status, {"error": str(exc)})
        except BusyError as exc:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
        except TimeoutError as exc:
            self.close_connection = True
            self._json(HTTPStatus.REQUEST_TIMEOUT, {"error": str(exc)})
        except (ValueError, TypeError, OSError) as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        else:
            self._json(HTTPStatus.OK, {"ok": True, **result})

    def _check_request(self) -> None:
        """Every request: not too large, and addressed to this server by its own address (a
        page on a rebound DNS name sends its name, which is refused)."""
        if self._reader.exceeded:
            raise ApiError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request too large")
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1:
            raise ApiError(HTTPStatus.BAD_REQUEST, "give exactly one Host header")
        if hosts[0].strip().lower() != self.origin.removeprefix("http://"):
            raise ApiError(HTTPStatus.MISDIRECTED_REQUEST, f"this is {self.origin}, not {hosts[0]}")

    def _check_post(self) -> None:
        """A state change: JSON (a cross-site form or "simple" request cannot send that type
        without a preflight, which is not answered), from this page's origin or no browser."""
        origins = self.headers.get_all("Origin") or []
        if any(origin.strip() != self.origin for origin in origins):
            raise ApiError(HTTPStatus.FORBIDDEN, "requests from other origins are refused")
        if self.headers.get_content_type() != "application/json":
            raise ApiError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send Content-Type: application/json")

    def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        sim, call = self.sim, self.sim.shared.call
        if path == "/api/event":
            action = parse_event_json(body)
            return {"queued": call(lambda now: sim.perform(action, now))}
        if path == "/api/unplug":
            duration_s = unplug_duration_s(body)
            call(lambda now: sim.unplug(now, duration_s))
            return {"duration_s": duration_s}
        if path == "/api/reboot":
            call(lambda now: sim.perform(Reboot(), now))
            return {}
        if path == "/api/faults":
            # Merged on the I/O thread, so concurrent changes cannot undo each other.
            result = call(lambda now: sim.set_faults(merge_faults(sim.faults.settings, body)))
            assert isinstance(result, FaultSettings)
            return {"faults": result.as_dict()}
        if path == "/api/snapshot":
            path_taken = self._snapshot(body)
            return {"name": path_taken.name, "path": str(path_taken)}
        raise ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint {path}")

    def _snapshot(self, body: dict[str, object]) -> Path:
        """The screen as a new PNG in ``--save-dir``, named by the simulator."""
        if body:
            raise ValueError(
                "a snapshot takes no arguments: it goes into --save-dir under a new name, "
                "which the reply gives"
            )
        save_dir = self.sim.config.save_dir
        if save_dir is None:
            raise ApiError(HTTPStatus.CONFLICT, "start the simulator with --save-dir to save")
        front, _ = self.sim.shared.screen()
        if front is None:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "no screen yet")
        return save_new_png(front, self.sim.config.profile.bpp, save_dir)

    def _body(self) -> dict[str, object]:
        if "Transfer-Encoding" in self.headers:
            raise ApiError(HTTPStatus.NOT_IMPLEMENTED, "send a Content-Length, not chunks")
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) != 1:
            raise ApiError(HTTPStatus.LENGTH_REQUIRED, "give exactly one Content-Length")
        if not _DIGITS.fullmatch(lengths[0].strip()):
            raise ValueError(f"bad Content-Length {lengths[0]!r}")
        length = int(lengths[0])
        if length > MAX_BODY_BYTES:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
        raw = self.rfile.read(length) if length else b""
        if len(raw) != length or self._reader.exceeded:
            raise ValueError("the body is shorter than its Content-Length")
        try:
            body = json.loads(raw or b"{}", parse_constant=_no_constants)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"body is not JSON: {exc}") from None
        except RecursionError:  # the parser recurses per [ or {: a 64 KiB body can nest deep
            raise ValueError("body is not JSON the API takes: nested too deeply") from None
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return body

    def _json(self, status: HTTPStatus, obj: object) -> None:
        self._reply(status, json.dumps(obj).encode(), "application/json")

    def _reply(self, status: HTTPStatus, data: bytes, content_type: str) -> None:
        self.connection.settimeout(WRITE_TIMEOUT_S)  # the read deadline is not for writing
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "frame-ancestors 'none'")  # no clickjacking
        self.end_headers()
        self.wfile.write(data)


class WebServer:
    """The HTTP server on its own thread, bound to 127.0.0.1 only."""

    def __init__(self, sim: Simulator, port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        attrs = {"sim": sim, "origin": self.url}
        self.httpd.RequestHandlerClass = type("BoundHandler", (Handler,), attrs)
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    def _serve(self) -> None:
        self.httpd.serve_forever(poll_interval=0.05)  # shutdown() waits up to one interval

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
