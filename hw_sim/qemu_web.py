"""The HTTP API of ``glasses-sim firmware``: the simulator's (hw_sim.web: same request checks,
same paths) over the firmware under QEMU. GET ``/screen.png`` is the panel's memory, ``/api/state``
the firmware's counters; POST ``/api/event`` injects an input through the debug channel and
``/api/reboot`` presses the board's reset button."""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import ThreadingHTTPServer

from hw_sim.qemu_device import QemuDevice, QemuDeviceError
from hw_sim.script import InputEvent, parse_event_json
from hw_sim.snapshots import png_bytes
from hw_sim.web import ApiError, Handler


class FirmwareState:
    """What the simulator's handler reads from ``sim.shared``, taken from the firmware."""

    def __init__(self, device: QemuDevice, url: str) -> None:
        self.device, self.url = device, url

    def png(self) -> bytes:
        return png_bytes(self.device.screen(), self.device.panel["bpp"])

    def state(self) -> dict[str, object]:
        info = self.device.info()
        counters = ("boots", "frames", "presents", "flushes", "rx_bytes", "rx_ticks")
        state: dict[str, object] = {"url": self.url, "plugged": True}
        state |= {"presents": info["presents"], "session": bool(info["session"])}
        state |= {"panel_on": bool(info["on"]), "brightness": info["brightness"]}
        state["uptime_ms"] = info["uptime_ms"]
        state["stats"] = {"device": {k: info[k] for k in counters}}
        return state


class _Board:
    """Stands where the handler expects the Simulator: it reads ``shared`` only."""

    def __init__(self, shared: FirmwareState) -> None:
        self.shared = shared


class FirmwareHandler(Handler):
    device: QemuDevice  # set on the subclass made by FirmwareWebServer
    server_version = "glasses-sim-firmware"

    def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        try:
            if path == "/api/event":
                action = parse_event_json(body)
                if isinstance(action, InputEvent):
                    return {
                        "queued": self.device.post_event(action.kind, action.code, action.value)
                    }
                return {"queued": self.device.post_log(action.level, action.text)}
            if path == "/api/reboot":
                self.device.reset()
                return {}
        except QemuDeviceError as exc:
            raise ApiError(HTTPStatus.BAD_GATEWAY, str(exc)) from None
        raise ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint {path} on the firmware device")


class FirmwareWebServer:
    """The HTTP server on its own thread, bound to 127.0.0.1 only."""

    def __init__(self, device: QemuDevice, port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), FirmwareHandler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        board = _Board(FirmwareState(device, device.url))
        attrs = {"sim": board, "device": device, "origin": self.url}
        self.httpd.RequestHandlerClass = type("BoundHandler", (FirmwareHandler,), attrs)
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    def _serve(self) -> None:
        self.httpd.serve_forever(poll_interval=0.05)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
