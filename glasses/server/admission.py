"""Who gets the engine next, and whether the client that asked is still there.

The engine runs one generation at a time.  :class:`EngineGate` lets a few requests wait for
it and turns the rest away at once (503), so a burst cannot pile up threads holding large
prompts.  :class:`DisconnectWatcher` notices a client that hung up -- while its request waits
or generates -- and cancels the :class:`CancelToken`, which stops the engine within a token.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from glasses.llm.generator import CancelToken
from glasses.server.request import ApiError


class ClientGone(Exception):
    """The client disconnected before its turn: nobody to answer."""


def overloaded(message: str) -> ApiError:
    return ApiError(503, message, kind="server_error", code="server_overloaded")


class EngineGate:
    def __init__(self, max_waiting: int) -> None:
        self._max_waiting = max_waiting
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Requests queued behind the running one."""
        with self._cond:
            return self._waiting

    @contextmanager
    def turn(self, cancel: CancelToken, timeout_s: float, poll_s: float) -> Iterator[None]:
        """Hold the engine for the ``with`` body; raises 503 when the queue is full or the
        wait exceeds ``timeout_s``, :class:`ClientGone` when ``cancel`` fires while waiting."""
        with self._cond:
            if self._busy:
                if self._waiting >= self._max_waiting:
                    raise overloaded("the model is busy with other requests; retry shortly")
                self._waiting += 1
                try:
                    deadline = time.monotonic() + timeout_s
                    while self._busy:
                        if cancel.cancelled:
                            raise ClientGone
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            raise overloaded("timed out waiting for the model; retry shortly")
                        self._cond.wait(min(remaining, poll_s))
                finally:
                    self._waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify()


def peer_closed(sock: socket.socket) -> bool:
    """True once the peer has closed or reset the connection (EOF is readable)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        # Readable with no data means EOF; a pipelined next request would show bytes instead.
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # reset, or already closed on our side
        return True


class DisconnectWatcher:
    """A background poll of the client's socket for the length of one request."""

    def __init__(self, sock: socket.socket, cancel: CancelToken, poll_s: float) -> None:
        self.cancel = cancel
        self._sock = sock
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="glasses-serve-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            if peer_closed(self._sock):
                self.cancel.cancel()
                return

    def __enter__(self) -> DisconnectWatcher:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
