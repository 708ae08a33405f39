"""The HTTP API of ``glasses-sim firmware``: the simulator's (hw_sim.web: same request checks,
same paths) over the firmware under QEMU. GET ``/screen.png`` is the panel's memory, ``/api/state``
the firmware's counters; POST ``/api/event`` injects an input through the debug channel and
``/api/reboot`` presses the board's reset button. With the fault relay on the wire
(hw_sim.fault_relay, as ``glasses-sim firmware`` runs it), POST ``/api/unplug`` and
``/api/faults`` work as on the simulator, and ``/api/state`` has its link and fault counters."""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import ThreadingHTTPServer

from hw_sim.fault_relay import FaultRelay
from hw_sim.qemu_device import QemuDevice, QemuDeviceError
from hw_sim.script import InputEvent, parse_event_json
from hw_sim.snapshots import png_bytes
from hw_sim.web import ApiError, Handler, merge_faults, unplug_duration_s


class FirmwareState:
    """What the simulator's handler reads from ``sim.shared``, taken from the firmware."""

    def __init__(self, device: QemuDevice, url: str, relay: FaultRelay | None = None) -> None:
        self.device, self.url, self.relay = device, url, relay

    def png(self) -> bytes:
        return png_bytes(self.device.screen(), self.device.panel["bpp"])

    def state(self) -> dict[str, object]:
        info = self.device.info()
        counters = ("boots", "frames", "presents", "flushes", "rx_bytes", "rx_ticks")
        state: dict[str, object] = {"url": self.url, "plugged": True}
        state |= {"presents": info["presents"], "session": bool(info["session"])}
        state |= {"panel_on": bool(info["on"]), "brightness": info["brightness"]}
        state["uptime_ms"] = info["uptime_ms"]
        stats: dict[str, object] = {"device": {k: info[k] for k in counters}}
        state["stats"] = stats
        if self.relay is not None:
            wire = self.relay.state()
            state |= {"plugged": wire["plugged"], "connected": wire["connected"]}
            state["faults"] = wire["faults"]
            stats |= {"link": wire["link"], "faults": wire["fault_stats"]}
        return state


class _Board:
    """Stands where the handler expects the Simulator: it reads ``shared`` only."""

    def __init__(self, shared: FirmwareState) -> None:
        self.shared = shared


class FirmwareHandler(Handler):
    device: QemuDevice  # set on the subclass made by FirmwareWebServer
    relay: FaultRelay | None  # likewise
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
            if path in ("/api/unplug", "/api/faults") and self.relay is None:
                raise ApiError(HTTPStatus.NOT_FOUND, f"{path} needs the fault relay on the wire")
            if path == "/api/unplug" and self.relay is not None:
                duration_s = unplug_duration_s(body)
                self.relay.request_unplug(duration_s)
                return {"duration_s": duration_s}
            if path == "/api/faults" and self.relay is not None:
                settings = self.relay.change_faults(lambda now: merge_faults(now, body))
                return {"faults": settings.as_dict()}
        except QemuDeviceError as exc:
            raise ApiError(HTTPStatus.BAD_GATEWAY, str(exc)) from None
        raise ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint {path} on the firmware device")


class FirmwareWebServer:
    """The HTTP server on its own thread, bound to 127.0.0.1 only."""

    def __init__(self, device: QemuDevice, port: int = 0, relay: FaultRelay | None = None) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), FirmwareHandler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        url = relay.url if relay is not None else device.url
        board = _Board(FirmwareState(device, url, relay))
        attrs = {"sim": board, "device": device, "relay": relay, "origin": self.url}
        self.httpd.RequestHandlerClass = type("BoundHandler", (FirmwareHandler,), attrs)
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    def _serve(self) -> None:
        self.httpd.serve_forever(poll_interval=0.05)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
