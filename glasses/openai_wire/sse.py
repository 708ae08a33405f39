"""Server-Sent Events as OpenAI-compatible servers use them: ``data: <json>`` events, one per
chunk, closed by ``data: [DONE]``.

Both ends live here so the encoder and the decoder cannot drift apart.  The decoder is fed raw
bytes as they arrive and never holds more than ``max_line_bytes`` of an unfinished line or
``max_event_bytes`` of one event: a server that streams without newlines makes it raise instead
of growing memory.
"""

from __future__ import annotations

import json
from typing import Any

DONE = "[DONE]"


class SseFormatError(ValueError):
    """The byte stream is not SSE within the configured limits."""


def encode_event(payload: dict[str, Any] | str) -> bytes:
    """One ``data:`` event; dicts become compact JSON (non-ASCII kept as UTF-8)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    # A JSON document has no raw newline, so one data line carries it whole.
    return f"data: {text}\n\n".encode()


class SseDecoder:
    """Incremental SSE parser returning the data of each complete event (``event``, ``id``
    and ``retry`` fields are ignored: chat completion streams do not use them)."""

    def __init__(self, *, max_line_bytes: int, max_event_bytes: int) -> None:
        self._max_line = max_line_bytes
        self._max_event = max_event_bytes
        self._buffer = bytearray()
        self._data: list[bytes] = []
        self._data_size = 0
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it

    def feed(self, chunk: bytes) -> list[str]:
        """Add received bytes; returns the data of every event they complete."""
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = False
        self._buffer += chunk
        events: list[str] = []
        start = 0
        while True:
            end = self._next_break(start)
            if end < 0:
                break
            line = bytes(self._buffer[start:end])
            # CRLF is one line break, a lone CR or LF is one too (the SSE spec allows all three).
            start = end + 1
            if self._buffer[end] == 0x0D:
                if start < len(self._buffer):
                    start += self._buffer[start] == 0x0A
                else:
                    self._skip_lf = True
            event = self._line(line)
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        if len(self._buffer) > self._max_line:
            raise SseFormatError(f"an event line is longer than {self._max_line} bytes")
        return events

    def _next_break(self, start: int) -> int:
        lf = self._buffer.find(b"\n", start)
        cr = self._buffer.find(b"\r", start, lf if lf >= 0 else len(self._buffer))
        return cr if cr >= 0 else lf

    def _line(self, line: bytes) -> str | None:
        if not line:  # a blank line dispatches the event
            if not self._data:
                return None
            data = b"\n".join(self._data)
            self._data, self._data_size = [], 0
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SseFormatError(f"event data is not UTF-8: {exc}") from exc
        if len(line) > self._max_line:
            raise SseFormatError(f"an event line is longer than {self._max_line} bytes")
        field, _, value = line.partition(b":")
        if field == b"data":
            value = value[1:] if value.startswith(b" ") else value
            self._data_size += len(value) + 1
            if self._data_size > self._max_event:
                raise SseFormatError(f"an event is larger than {self._max_event} bytes")
            self._data.append(value)
        return None  # comments (": keep-alive") and other fields carry nothing for us
