"""Live view and remote control over HTTP on 127.0.0.1 (stdlib only).

GET ``/`` (the page), ``/screen.png``, ``/api/state``; POST ``/api/event``, ``/api/unplug``,
``/api/reboot``, ``/api/faults``, ``/api/snapshot``. Handlers never touch the device: they
read the published state or queue a command for the I/O thread (:mod:`hw_sim.state`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Final

from hw_sim.faults import FaultSettings
from hw_sim.script import Reboot, parse_event_json
from hw_sim.server import Simulator
from hw_sim.snapshots import save_png
from hw_sim.state import BusyError

log = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 64 * 1024
_WIRE_KEYS: Final = ("drop_rate", "flip_rate", "latency_ms")
_snapshot_numbers = itertools.count(1)


class ApiError(ValueError):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _number(body: dict[str, object], key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    return float(value)


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
    server_version = "glasses-sim"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
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
            body = self._body()
            result = self._post(self.path.split("?", 1)[0], body)
        except ApiError as exc:
            self._json(exc.status, {"error": str(exc)})
        except BusyError as exc:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
        except (ValueError, TypeError, OSError) as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        else:
            self._json(HTTPStatus.OK, {"ok": True, **result})

    def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        sim, call = self.sim, self.sim.shared.call
        if path == "/api/event":
            action = parse_event_json(body)
            return {"queued": call(lambda now: sim.perform(action, now))}
        if path == "/api/unplug":
            duration_s = _number(body, "duration_s", 1.0)
            if not 0 <= duration_s <= 3600:
                raise ValueError("duration_s must be within 0..3600")
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
            return {"path": str(self._snapshot(body))}
        raise ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint {path}")

    def _snapshot(self, body: dict[str, object]) -> Path:
        front, _ = self.sim.shared.screen()
        if front is None:
            raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "no screen yet")
        raw = body.get("path")
        save_dir = self.sim.config.save_dir
        if isinstance(raw, str) and raw:
            path = Path(raw)
        elif save_dir is not None:
            path = save_dir / f"snapshot-{next(_snapshot_numbers):04d}.png"
        else:
            raise ValueError('give {"path": ...} (or start with --save-dir)')
        save_png(front, self.sim.config.profile.bpp, path)
        return path

    def _body(self) -> dict[str, object]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return body

    def _json(self, status: HTTPStatus, obj: object) -> None:
        self._reply(status, json.dumps(obj).encode(), "application/json")

    def _reply(self, status: HTTPStatus, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


class WebServer:
    """The HTTP server on its own thread, bound to 127.0.0.1 only."""

    def __init__(self, sim: Simulator, port: int = 0) -> None:
        handler = type("BoundHandler", (Handler,), {"sim": sim})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    def _serve(self) -> None:
        self.httpd.serve_forever(poll_interval=0.05)  # shutdown() waits up to one interval

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
