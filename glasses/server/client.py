"""The client half of the wire format: the request body we send, the stream we read back.

Kept next to the server's half (:mod:`request`, :mod:`response`) so the two cannot drift;
:mod:`glasses.llm.remote` builds on it and maps failures to its typed errors.  An answer is complete at
``[DONE]`` or, for servers that omit it, once a ``finish_reason`` was seen;
:attr:`CompletionReader.complete` tells the caller whether an end of stream is an error.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
from collections.abc import Sequence
from typing import Any
from urllib.parse import SplitResult

from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import GenerationOptions
from glasses.server.request import MAX_STOP_STRINGS
from glasses.server.sse import DONE, SseDecoder, SseFormatError


class StreamFormatError(ValueError):
    """Not an OpenAI chat completion stream, or beyond the size limits."""


class InBandError(RuntimeError):
    """The server reported a failure inside the stream (after its 200 headers)."""


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


def request_body(
    model: str, messages: Sequence[ChatMessage], options: GenerationOptions, extensions: bool
) -> dict[str, Any]:
    """A streaming chat completion request.  ``extensions`` adds top_k, repetition_penalty and
    ``chat_template_kwargs.enable_thinking`` (vLLM, SGLang and glasses serve understand them)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "stream": True,
        "max_tokens": options.max_new_tokens,
    }
    if options.stop_strings:
        body["stop"] = list(options.stop_strings[:MAX_STOP_STRINGS])
    sampling = options.sampling
    if sampling is not None:  # None: the server applies the model's defaults
        body["temperature"] = 0 if sampling.greedy else sampling.temperature
        if not sampling.greedy and sampling.top_p < 1:
            body["top_p"] = sampling.top_p
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if extensions and not sampling.greedy and sampling.top_k:
            body["top_k"] = sampling.top_k
        if extensions and sampling.repetition_penalty != 1:
            body["repetition_penalty"] = sampling.repetition_penalty
    if extensions:
        # Qwen3 on vLLM thinks by default; the local engine does not unless asked.
        body["chat_template_kwargs"] = {"enable_thinking": options.enable_thinking}
    return body


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


def error_message(body: Any) -> str:
    """The message of an OpenAI error body ``{"error": {"message": ...}}`` ("" if none)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")
    return str(error or "")
