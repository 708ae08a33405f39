"""The HTTP transport of :mod:`glasses.llm.remote`: connections with set-up and read limits,
and a hangup a :class:`~glasses.llm.generator.CancelToken` can pull.

The wire format itself (bodies, chunks, errors) is :mod:`glasses.openai_wire`.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
from urllib.parse import SplitResult


class Hangup:
    """Stands in for ORT RunOptions on a :class:`CancelToken`: the token sets ``terminate``,
    and we shut the socket down, so a read blocked on a silent server returns at once.

    It holds the socket itself: http.client hands it over to the response (and forgets it on
    the connection) once a reply says ``Connection: close``."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._set = False

    @property
    def terminate(self) -> bool:
        return self._set

    @terminate.setter
    def terminate(self, value: bool) -> None:
        self._set = value
        if value:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


def connect(url: SplitResult, connect_s: float, read_s: float) -> http.client.HTTPConnection:
    """An open connection to ``url``'s host: ``connect_s`` limits TCP (and TLS) set-up,
    ``read_s`` then limits each wait for data.  Raises OSError (TimeoutError on timeout)."""
    conn: http.client.HTTPConnection
    if url.scheme == "https":
        ctx = ssl.create_default_context()
        conn = http.client.HTTPSConnection(
            url.hostname or "", url.port, timeout=connect_s, context=ctx
        )
    else:
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=connect_s)
    try:
        conn.connect()
    except OSError:
        conn.close()
        raise
    assert conn.sock is not None
    conn.sock.settimeout(read_s)
    return conn
