"""A minimal client for QEMU's machine protocol (QMP) on a Unix socket: JSON commands, one
reply each (asynchronous events in between are skipped)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, Final

MAX_LINE_BYTES: Final = 1 << 20


class QmpError(RuntimeError):
    """QEMU refused a command or the monitor connection broke."""


class Qmp:
    def __init__(self, path: Path, timeout_s: float = 5.0) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout_s)
        self._sock.connect(str(path))
        self._file = self._sock.makefile("rb")
        greeting = self._read()
        if "QMP" not in greeting:
            raise QmpError(f"{path} is not a QMP socket: it said {greeting}")
        self.execute("qmp_capabilities")

    def _read(self) -> dict[str, Any]:
        line = self._file.readline(MAX_LINE_BYTES)
        if not line:
            raise QmpError("QEMU closed its monitor socket (did it exit?)")
        message: dict[str, Any] = json.loads(line)
        return message

    def execute(self, command: str, **arguments: Any) -> Any:
        """Run ``command``; returns its ``return`` value, QmpError with QEMU's own words."""
        request: dict[str, Any] = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self._sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            reply = self._read()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise QmpError(f"QEMU refused {command}: {reply['error'].get('desc', reply)}")

    def close(self) -> None:
        self._file.close()
        self._sock.close()
