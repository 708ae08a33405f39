"""The MCUmgr serial transport as the device sees it: lines of base64 between markers.

A frame ``[u16 BE length][SMP message][u16 BE CRC16/XMODEM]`` is base64-encoded and cut into
lines: the first starts with ``06 09``, the others with ``04 14``, each ends with ``\\n``.
Base64 has neither marker byte, so the reader finds the next frame by its marker wherever
it starts: display-protocol bytes still in flight when the port changed hands, or a frame
cut short by a reset, are skipped. Encoding and checking use the ``smp`` package.
"""

from __future__ import annotations

import binascii
import logging
import struct
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Final

from smp import packet
from smp.exceptions import SMPBadContinueDelimiter, SMPBadCRC, SMPBadStartDelimiter

log = logging.getLogger(__name__)

LINE_LENGTH: Final = 128  # the MCUmgr convention for one line on the wire
_MARKERS: Final = (packet.START_DELIMITER, packet.CONTINUE_DELIMITER)


def encode_frame(message: bytes) -> bytes:
    """The wire bytes (all lines) for one SMP message."""
    return b"".join(packet.encode(message, line_length=LINE_LENGTH))


@dataclass
class SmpLineReader:
    """Turns received bytes into complete SMP messages (CRC checked, framing removed)."""

    max_message_bytes: int = 1024
    bad_frames: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _decoder: Generator[None, bytes, bytes] | None = None
    _received: int = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        messages: list[bytes] = []
        while True:
            line = self._next_line()
            if line is None:
                return messages
            message = self._take(line)
            if message is not None:
                messages.append(message)

    def _next_line(self) -> bytes | None:
        starts = [i for i in (self._buf.find(m) for m in _MARKERS) if i >= 0]
        if not starts:
            # Keep a last byte that may be the first half of a marker.
            keep = 1 if bytes(self._buf[-1:]) in (b"\x06", b"\x04") else 0
            del self._buf[: len(self._buf) - keep]
            return None
        del self._buf[: min(starts)]
        end = self._buf.find(packet.END_DELIMITER)
        if end < 0:
            if len(self._buf) > 4 * self.max_message_bytes:  # no newline ever: garbage
                self._buf.clear()
                self._drop("a line without an end")
            return None
        # Base64 has no marker byte: a marker inside the line means garbage before it.
        start = max(self._buf.rfind(m, 0, end) for m in _MARKERS)
        line = bytes(self._buf[start : end + 1])
        del self._buf[: end + 1]
        return line

    def _take(self, line: bytes) -> bytes | None:
        if line.startswith(packet.START_DELIMITER):
            if self._decoder is not None:
                self._drop("a new frame before the previous one ended")
            self._decoder = packet.decode()
            next(self._decoder)
            self._received = 0
        elif self._decoder is None:
            return None  # a continuation of a frame we never saw start
        self._received += len(line)
        try:
            self._decoder.send(line)
        except StopIteration as done:
            self._decoder = None
            return bytes(done.value)
        except (
            SMPBadCRC,
            SMPBadStartDelimiter,
            SMPBadContinueDelimiter,
            binascii.Error,
            struct.error,
        ) as exc:
            self._drop(str(exc))
            return None
        if self._received > 2 * self.max_message_bytes:
            self._drop("a frame longer than the receive buffer")
        return None

    def _drop(self, why: str) -> None:
        self._decoder = None
        self.bad_frames += 1
        log.warning("SMP frame dropped: %s", why)


__all__ = ["LINE_LENGTH", "SmpLineReader", "encode_frame"]
