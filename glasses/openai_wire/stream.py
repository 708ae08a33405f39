"""Reading a streamed chat completion as a client: text deltas out of SSE chunks.

An answer is complete at ``[DONE]`` or, for servers that omit it, once a ``finish_reason``
was seen; :attr:`CompletionReader.complete` tells the caller whether an end of stream is an
error.  Sizes are bounded by the SSE decoder's limits.
"""

from __future__ import annotations

import json

from glasses.openai_wire.errors import error_message
from glasses.openai_wire.sse import DONE, SseDecoder, SseFormatError


class StreamFormatError(ValueError):
    """Not an OpenAI chat completion stream, or beyond the size limits."""


class InBandError(RuntimeError):
    """The server reported a failure inside the stream (after its 200 headers)."""


class CompletionReader:
    def __init__(self, *, max_line_bytes: int, max_event_bytes: int) -> None:
        self._sse = SseDecoder(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
        self.done = False  # [DONE] received: nothing more will come
        self.finished = False  # a finish_reason was received

    @property
    def complete(self) -> bool:
        return self.done or self.finished

    def feed(self, raw: bytes) -> list[str]:
        """Text deltas completed by these bytes; bytes after ``[DONE]`` are ignored."""
        if self.done:
            return []
        try:
            events = self._sse.feed(raw)
        except SseFormatError as exc:
            raise StreamFormatError(str(exc)) from exc
        deltas = []
        for data in events:
            if data == DONE:
                self.done = True
                break
            text = self._chunk(data)
            if text:
                deltas.append(text)
        return deltas

    def _chunk(self, data: str) -> str:
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise StreamFormatError(f"a chunk is not JSON: {exc}") from exc
        if not isinstance(chunk, dict):
            raise StreamFormatError("a chunk is not a JSON object")
        if "error" in chunk:
            raise InBandError(error_message(chunk))
        try:
            choices = chunk.get("choices") or [{}]  # the include_usage chunk has none
            choice = choices[0]
            if choice.get("finish_reason"):
                self.finished = True
            text = (choice.get("delta") or {}).get("content") or ""
        except (AttributeError, LookupError, TypeError) as exc:
            raise StreamFormatError(f"a chunk has no choices[0].delta: {exc}") from exc
        if not isinstance(text, str):
            raise StreamFormatError("delta.content is not a string")
        return text
