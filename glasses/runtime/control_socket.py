"""The running daemon's control channel: a Unix socket next to its status file.

``glasses mode translate`` connects, sends one JSON line and reads one JSON line back::

    -> {"mode": "translate"}        ("next" cycles the enabled modes, like a double press;
                                     "look" looks, like a swipe up: Read, "what is this?")
    <- {"ok": true, "mode": "translate"}
    <- {"ok": false, "error": "mode read is not enabled (enabled: captions, translate)"}

A request becomes the same message a button makes (``UserInput(NEXT_MODE)``) or ``SetMode``,
routed into the control queue, so the modes see no difference. The reply says the request was
queued and which mode the controller is in once it has handled it. Only this user can connect:
the socket is 0600 in a 0700 directory; a directory of another user's, or one others may write
into, is refused (glasses.runtime.status.private_dir).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from glasses.display.views import Mode
from glasses.errors import GlassesError
from glasses.pipeline.messages import Intent, Message, SetMode, UserInput
from glasses.runtime.status import private_dir

NEXT: Final = "next"
LOOK: Final = "look"
MODE_NAMES: Final = tuple(mode.value.lower() for mode in Mode)
MAX_REQUEST_BYTES: Final = 4096  # a request is one short line; anything longer is refused
REPLY_TIMEOUT_S: Final = 5.0
SWITCH_WAIT_S: Final = 2.0  # how long the reply waits for the controller to take the request
_POLL_S: Final = 0.01


def control_socket_path(status_path: Path) -> Path:
    """The socket of the daemon whose status file is ``status_path`` (in the same directory)."""
    return status_path.with_name(status_path.stem + ".sock")


class DaemonControls:
    """Adapts a :class:`glasses.runtime.daemon.Daemon` (whose controller exists once it is running)."""

    def __init__(self, daemon: Any, clock: Callable[[], float]) -> None:
        self.daemon, self.clock = daemon, clock

    @property
    def state(self) -> str:
        return str(self.daemon.state)

    def route(self, msg: Message) -> Awaitable[None]:
        route: Callable[[Message], Awaitable[None]] = self.daemon.route
        return route(msg)

    def enabled_modes(self) -> tuple[Mode, ...] | None:
        c = self.daemon.controller
        return tuple(c.order) if c is not None else None

    def current_mode(self) -> Mode | None:
        c = self.daemon.controller
        return c.mode if c is not None else None

    def handled_inputs(self) -> int:
        c = self.daemon.controller
        return int(c.inputs) if c is not None else 0


class ControlServer:
    def __init__(self, path: Path, daemon: DaemonControls) -> None:
        self.path, self.daemon = path, daemon
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> ControlServer:
        """Listen; OSError (UnsafeDirectory, ControlPathTaken) if the place is not safe to use:
        the daemon then runs without its control channel."""
        private_dir(self.path.parent)
        _remove_stale(self.path)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        # The directory is 0700 already; the mode on the socket itself also guards a socket put
        # in a shared directory by log.status_file.
        os.chmod(self.path, 0o600)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), REPLY_TIMEOUT_S)
            reply = await self.handle(line)
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # a client that hung up or sent garbage: nothing to tell it
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def handle(self, line: bytes) -> dict[str, Any]:
        """One request line -> its reply."""
        try:
            request = json.loads(line[:MAX_REQUEST_BYTES]) if line else None
        except ValueError:
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("mode"), str):
            return {"ok": False, "error": 'expected one JSON line like {"mode": "next"}'}
        name = request["mode"].strip().lower()
        enabled = self.daemon.enabled_modes()
        if self.daemon.state != "running" or enabled is None:
            return {"ok": False, "error": f"the daemon is not ready (state {self.daemon.state})"}
        clock = self.daemon.clock
        if name == NEXT:
            msg: Message = UserInput(Intent.NEXT_MODE, clock())
        elif name == LOOK and Mode.READ in enabled:
            msg = UserInput(Intent.LOOK, clock())
        elif name in MODE_NAMES and Mode[name.upper()] in enabled:
            msg = SetMode(Mode[name.upper()])
        else:
            names = ", ".join(m.value.lower() for m in enabled)
            known = f"mode {name} is not enabled" if name in MODE_NAMES else f"no mode {name!r}"
            if name == LOOK:
                known = "look needs the read mode, which is not enabled"
            return {"ok": False, "error": f"{known} (enabled: {names}, or {NEXT})"}
        inputs = self.daemon.handled_inputs()
        await self.daemon.route(msg)
        if isinstance(msg, SetMode):
            await self._wait(lambda: self.daemon.current_mode() is msg.mode)
        else:  # the controller counts inputs: wait until it has taken this one
            await self._wait(lambda: self.daemon.handled_inputs() > inputs)
        mode = self.daemon.current_mode()
        return {"ok": True, "mode": mode.value.lower() if mode else None}

    async def _wait(self, done: Callable[[], bool]) -> None:
        # The control queue is shared with the microphone's events; a short poll keeps the
        # reply meaningful ("now in translate") without a hook in the controller.
        deadline = asyncio.get_running_loop().time() + SWITCH_WAIT_S
        while not done() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(_POLL_S)


class ControlPathTaken(OSError):
    """Something that is not a socket sits where the control socket goes."""


def _remove_stale(path: Path) -> None:
    """Remove a socket left by a daemon that died; refuse to take over a live one."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        # Never removed: it is not ours to delete (a file of the user's, or planted).
        raise ControlPathTaken(
            f"{path} exists and is not a socket: not starting the control channel "
            "(move that file away to use `glasses mode`)"
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody listens: left over
            return
    raise GlassesError(f"another daemon is listening on {path}")


def send_request(
    path: Path, request: dict[str, Any], timeout_s: float = REPLY_TIMEOUT_S
) -> dict[str, Any]:
    """Send ``request`` to the daemon listening on ``path``; its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise GlassesError(f"no daemon at {path}: is `glasses run` running?") from exc
        except OSError as exc:
            raise GlassesError(f"cannot reach the daemon at {path}: {exc}") from exc
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = sock.recv(MAX_REQUEST_BYTES)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_REQUEST_BYTES:  # a reply is a line of JSON, not a stream
                    break
        except OSError as exc:
            raise GlassesError(f"no reply from the daemon at {path}: {exc}") from exc
    try:
        reply = json.loads(data)
    except ValueError as exc:
        raise GlassesError(f"unexpected reply from the daemon at {path}: {data[:200]!r}") from exc
    if not isinstance(reply, dict):
        raise GlassesError(f"unexpected reply from the daemon at {path}: {reply!r}")
    return reply
