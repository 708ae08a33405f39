"""Where the host plugs in: a pseudo-terminal (like /dev/ttyACM0) or a local TCP socket.

Both are non-blocking and byte-oriented; the server paces them to the emulated baud rate.
``unplug`` / ``replug`` behave like pulling a USB cable: the pty disappears (the host sees
EIO and the link path vanishes) and comes back as a new device; the socket is dropped and
connections are refused meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

log = logging.getLogger(__name__)

PTY_HOST_QUIET_S: Final = 3.0
"""A pty cannot see the host open or close it: a host counts as attached while it has sent
something within this time (a DisplayLink PINGs after a second of silence)."""


class Port(Protocol):
    @property
    def url(self) -> str:
        """What a host passes to ``serial.serial_for_url``."""

    @property
    def plugged(self) -> bool: ...
    @property
    def connected(self) -> bool:
        """A host is attached (on a pty: one sent bytes lately, see PTY_HOST_QUIET_S)."""

    def read_fds(self) -> list[int]: ...
    def service(self) -> None: ...
    def read(self, max_bytes: int) -> bytes: ...
    def write(self, data: bytes) -> int: ...
    def unplug(self) -> None: ...
    def replug(self) -> None: ...


class PtyPort:
    """A pty whose slave end the host opens; ``link`` is a stable symlink to it. ``clock``
    (seconds) times the host's silence for :attr:`connected`."""

    def __init__(
        self, link: Path | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.link = link
        self.slave_path = ""
        self.plugged = False
        self._clock = clock
        self._last_rx_s: float | None = None  # when the host last sent bytes (since plugged)
        self._master = self._slave = -1
        self.replug()

    @property
    def connected(self) -> bool:
        last = self._last_rx_s
        return self.plugged and last is not None and self._clock() - last < PTY_HOST_QUIET_S

    @property
    def url(self) -> str:
        return str(self.link) if self.link else self.slave_path

    def replug(self) -> None:
        master, slave = os.openpty()
        try:
            # Our own slave fd stays open so the master never reads EIO while no host is
            # attached; raw mode makes it a binary link (no echo, line editing, CR/LF mapping).
            tty.setraw(slave)
            os.set_blocking(master, False)
            path = os.ttyname(slave)
            if self.link:
                self._point_link(path)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        self._master, self._slave, self.slave_path = master, slave, path
        self._last_rx_s = None
        self.plugged = True
        log.info("pty %s ready%s", path, f" at {self.link}" if self.link else "")

    def _point_link(self, target: str) -> None:
        assert self.link is not None
        if self.link.exists() and not self.link.is_symlink():
            raise FileExistsError(f"{self.link} exists and is not a symlink; not replacing it")
        tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        tmp.replace(self.link)  # atomic: the link never dangles while we are plugged

    def unplug(self) -> None:
        if not self.plugged:
            return
        self.plugged = False
        if self.link and self.link.is_symlink() and os.readlink(self.link) == self.slave_path:
            self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1

    def read_fds(self) -> list[int]:
        return [self._master] if self.plugged else []

    def service(self) -> None:
        pass

    def read(self, max_bytes: int) -> bytes:
        if not self.plugged:
            return b""
        try:
            data = os.read(self._master, max_bytes)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:  # EIO: no slave open; should not happen as we hold one
            log.debug("pty read: %s", exc)
            return b""
        if data:
            self._last_rx_s = self._clock()
        return data

    def write(self, data: bytes) -> int:
        if not self.plugged:
            return len(data)
        try:
            return os.write(self._master, data)
        except (BlockingIOError, InterruptedError):
            return 0  # the host is not reading and the pty buffer is full


class TcpPort:
    """A listening socket on 127.0.0.1; one host at a time (a new one replaces the old, as
    when the cable is plugged into another computer)."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.plugged = False
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self.replug()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    @property
    def connected(self) -> bool:
        return self._client is not None

    def replug(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(4)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]  # port 0: the one the OS picked, kept from now on
        self._listener = listener
        self.plugged = True
        log.info("listening on %s", self.url)

    def unplug(self) -> None:
        self.plugged = False
        self._drop_client()
        if self._listener is not None:
            self._listener.close()  # connections are refused until replug
            self._listener = None

    def read_fds(self) -> list[int]:
        socks = [s for s in (self._listener, self._client) if s is not None]
        return [s.fileno() for s in socks]

    def service(self) -> None:
        if self._listener is None:
            return
        try:
            client, addr = self._listener.accept()
        except OSError:  # nobody waiting (EAGAIN), or the client gave up already
            return
        if self._client is not None:
            log.warning("new host %s:%d replaces the connected one", *addr)
            self._drop_client()
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = client
        log.info("host connected from %s:%d", *addr)

    def read(self, max_bytes: int) -> bytes:
        if self._client is None:
            return b""
        try:
            data = self._client.recv(max_bytes)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError:
            data = b""
        if not data:
            log.info("host disconnected")
            self._drop_client()
        return data

    def write(self, data: bytes) -> int:
        if self._client is None:
            return len(data)  # no cable: the bytes go nowhere, as on an open UART
        try:
            return self._client.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            self._drop_client()
            return len(data)

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
