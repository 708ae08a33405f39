"""Byte transports under the link: a serial device, a pty, a TCP socket or a loopback.

All of them come from pyserial's ``serial_for_url``. Opening errors become a :class:`LinkError`
that says what to check; errors on an open port become :class:`PortLostError`, which makes
the link close the port and reconnect.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from typing import Any, Final, Protocol

import serial

from firmware_bridge.errors import LinkError, PortLostError

log = logging.getLogger(__name__)

DEFAULT_WRITE_TIMEOUT_S: Final = 2.0


class Transport(Protocol):
    """Moves bytes to and from the device; not thread-safe except :meth:`wake`."""

    url: str
    wakeable: bool
    """True if :meth:`wake` really interrupts a read (else the link polls every io_tick_s)."""

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        """Bytes received so far (at most ``max_bytes``), waiting up to ``timeout_s`` for the
        first one; ``b""`` on timeout or :meth:`wake`. Raises PortLostError."""
        ...

    def write(self, data: bytes) -> None:
        """Write all of ``data``; raises PortLostError."""
        ...

    def wake(self) -> None:
        """Make a blocking :meth:`read` return early; callable from any thread."""
        ...

    def close(self) -> None: ...


class SerialTransport:
    """A :class:`Transport` over a pyserial port object."""

    def __init__(self, port: Any, url: str) -> None:
        self._port = port
        self.url = url
        self.wakeable = hasattr(port, "cancel_read")  # ttys and loop://, not socket://
        self._timeout_s: float | None = port.timeout

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        try:
            # Only reconfigure when needed: on a tty the setter costs a tcgetattr.
            if timeout_s != self._timeout_s:
                self._port.timeout = self._timeout_s = timeout_s
            first: bytes = self._port.read(1)  # wait for the first byte only
            if not first:
                return b""
            data = bytearray(first)
            while len(data) < max_bytes:
                n = self._port.in_waiting  # exact on ttys; 0 or 1 on sockets
                if n <= 0:
                    break
                data += self._port.read(min(n, max_bytes - len(data)))
            return bytes(data)
        except (serial.SerialException, OSError) as exc:
            raise PortLostError(f"{self.url}: read failed: {exc}") from exc

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except serial.SerialTimeoutException as exc:
            raise PortLostError(
                f"{self.url}: write timed out: the device is not reading (hung or paused?)"
            ) from exc
        except (serial.SerialException, OSError) as exc:
            raise PortLostError(f"{self.url}: write failed: {exc}") from exc

    def wake(self) -> None:
        cancel = getattr(self._port, "cancel_read", None)
        if cancel is not None:
            # Failing only when closing concurrently: the reader is leaving anyway.
            with contextlib.suppress(serial.SerialException, OSError, ValueError):
                cancel()

    def close(self) -> None:
        try:
            self._port.close()
        except (serial.SerialException, OSError) as exc:
            log.debug("closing %s: %s", self.url, exc)


def open_transport(
    url: str, baud: int, *, write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S
) -> SerialTransport:
    """Open ``url`` (a device path, a pty path, ``socket://host:port`` or ``loop://``).

    Raises LinkError with a message that names the URL, the OS error and what to check.
    """
    try:
        port = serial.serial_for_url(
            url,
            baudrate=baud,
            timeout=0,
            write_timeout=write_timeout_s,
            # Two programs on one port garble each other's frames: take an exclusive lock.
            exclusive=True,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise LinkError(_open_error_message(url, exc)) from exc
    log.debug("opened %s at %d baud", url, baud)
    return SerialTransport(port, url)


def _os_errno(exc: BaseException) -> int | None:
    """The errno of ``exc`` or of the OSError it wraps (pyserial chains them loosely)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        code = getattr(seen, "errno", None)
        if isinstance(code, int):
            return code
        seen = seen.__cause__ or seen.__context__
    return None


def _open_error_message(url: str, exc: BaseException) -> str:
    code = _os_errno(exc)
    head = f"cannot open the display link {url!r}: {exc}"
    if url.startswith("socket://"):
        hint = "is the simulator running and listening on that host and port?"
    elif code == errno.ENOENT:
        hint = (
            "no such device: check the path (ls /dev/ttyACM* /dev/ttyUSB* /dev/serial*), "
            "that the glasses are plugged in, or that the simulator is running"
        )
    elif code == errno.EACCES:
        hint = (
            "permission denied: add your user to the dialout group "
            "(sudo usermod -aG dialout $USER, then log in again)"
        )
    elif code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK):
        hint = "the port is in use by another program: close it (fuser -v PATH shows which)"
    elif code == errno.ENOTTY or "Inappropriate ioctl" in str(exc):
        hint = "that path is not a serial port: check the path"
    elif isinstance(exc, ValueError) or "://" in url:
        hint = "use a device path, a pty path, socket://HOST:PORT or loop://"
    else:
        hint = "check the path and that the device or simulator is running"
    return f"{head}; {hint}"


__all__ = ["SerialTransport", "Transport", "open_transport"]
