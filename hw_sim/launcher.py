"""Start ``glasses-sim display`` as a child process and talk to its control API.

Used by ``glasses demo``, the benchmarks and the tests, so they all start, drive and stop the
simulator the same way: through its READY line, its HTTP API and a signal.
"""

from __future__ import annotations

import io
import json
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt

READY_PREFIX: Final = "READY "
HTTP_TIMEOUT_S: Final = 5.0
POLL_INTERVAL_S: Final = 0.02


class SimulatorStartError(RuntimeError):
    """The simulator exited or printed no READY line in time; the message holds its log."""


class SimulatorProcess:
    """A running simulator. ``info`` is the READY line's JSON (url, web, width, height, ...).

    ``log_path`` receives the simulator's log (stderr); ``cwd`` is its working directory;
    ``command`` the ``glasses-sim`` subcommand: ``display`` (Python) or ``firmware`` (the C
    firmware under QEMU, same READY line and HTTP API).
    """

    def __init__(
        self,
        *args: str,
        log_path: Path | None = None,
        start_timeout_s: float = 20.0,
        cwd: Path | None = None,
        command: str = "display",
    ) -> None:
        self.log_path = log_path
        self._log: IO[str] | int = log_path.open("w") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hw_sim.cli", command, *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=cwd,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], start_timeout_s)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith(READY_PREFIX):
            self.stop()
            log = log_path.read_text() if log_path else ""
            # Its own error lines alone where it gave some (not the usage text around them).
            errors = [
                x for x in log.splitlines() if x.startswith("glasses-sim") and ": error: " in x
            ]
            raise SimulatorStartError(
                f"glasses-sim {command} did not start (args {' '.join(args)}): "
                + ("\n".join(errors) if errors else f"{line.strip() or 'no output'}\n{log}")
            )
        self.info: dict[str, Any] = json.loads(line[len(READY_PREFIX) :])

    @property
    def url(self) -> str:
        """The display URL to give ``glasses show --display`` or a DisplayLink."""
        return str(self.info["url"])

    @property
    def web(self) -> str | None:
        web = self.info.get("web")
        return str(web) if web else None

    def get(self, path: str) -> bytes:
        if not self.web:
            raise RuntimeError("the simulator was started with --no-web")
        with urllib.request.urlopen(self.web + path, timeout=HTTP_TIMEOUT_S) as reply:
            data: bytes = reply.read()
            return data

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST JSON to the control API; returns (HTTP status, JSON reply)."""
        if not self.web:
            raise RuntimeError("the simulator was started with --no-web")
        request = urllib.request.Request(
            self.web + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.get("/api/state"))
        return state

    def wait_state(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout_s: float = 10.0,
        what: str = "the simulator state",
    ) -> dict[str, Any]:
        """Poll ``/api/state`` until ``predicate(state)`` holds; returns that state.

        Raises TimeoutError (with the last state seen) when ``timeout_s`` passes first.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.state()
            if predicate(state):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}: {state}")
            time.sleep(POLL_INTERVAL_S)

    def screen(self) -> npt.NDArray[np.uint8]:
        """The simulated panel's front buffer as 8-bit grey (level scaled to 0..255)."""
        from PIL import Image

        return np.asarray(Image.open(io.BytesIO(self.get("/screen.png"))), dtype=np.uint8)

    def stop(self, timeout_s: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if not isinstance(self._log, int):
            self._log.close()
        return code

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
