"""A remote OpenAI-compatible server (vLLM, SGLang, ``glasses serve``) as a :class:`ChatBackend`.

Standard library only (http.client): the request streams (``stream: true``) and the
Server-Sent Events are parsed with fixed limits, so a broken or hostile server can neither
hang us past the timeouts nor grow memory.  Every failure raises a :class:`RemoteError`
subclass; an answer counts as complete only with ``[DONE]`` or a ``finish_reason``, so a
connection dropped mid-answer is an error, never a short reply.  The API key is sent in the
Authorization header only: it is kept out of reprs, logs and error messages.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from glasses.llm.chat_template import ChatMessage
from glasses.llm.errors import LlmError
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.llm.remote_http import Hangup, connect
from glasses.openai_wire.errors import error_message
from glasses.openai_wire.request import request_body
from glasses.openai_wire.stream import CompletionReader, InBandError, StreamFormatError

log = logging.getLogger(__name__)

API_KEY_ENV = "GLASSES_REMOTE_API_KEY"
_READ_CHUNK_BYTES = 16384


class RemoteError(LlmError):
    """The remote model could not answer this request."""


class RemoteUnavailableError(RemoteError):
    """Unreachable, refusing, overloaded (429/5xx) or gone mid-answer: try again later."""


class RemoteTimeoutError(RemoteUnavailableError):
    """No connection, or no data, within the configured timeout."""


class RemoteProtocolError(RemoteError):
    """The reply is not an OpenAI chat completion stream (or exceeds our size limits)."""


class RemoteAuthError(RemoteError):
    """The server refused the API key (401/403)."""


class RemoteRequestError(RemoteError):
    """The server rejected this request (400/404/...: wrong model name, prompt too long)."""


@dataclass(frozen=True)
class RemoteConfig:
    # The API root, as OpenAI clients take it: "http://gpu-box:8000/v1".
    base_url: str
    # Model name the server knows (vLLM: the served model name, e.g. "Qwen/Qwen3-8B").
    model: str
    # Bearer key; None reads the environment variable named by api_key_env (None if unset).
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str = API_KEY_ENV
    # TCP (+TLS) connection set-up limit; a dead host fails this fast.
    connect_timeout_s: float = 3.0
    # Longest silence while waiting for the reply or between chunks of it.
    read_timeout_s: float = 20.0
    # Both limits of the cheap reachability probe (GET /models).
    probe_timeout_s: float = 1.0
    # Longest SSE line and event we accept; a chunk of one token is ~300 bytes.
    max_line_bytes: int = 64 * 1024
    max_event_bytes: int = 256 * 1024
    # Most we read of an error body.
    max_body_bytes: int = 1 << 20
    # Send top_k, repetition_penalty and chat_template_kwargs.enable_thinking: understood by
    # vLLM, SGLang and glasses serve; OpenAI's own API refuses unknown fields, so turn it off.
    send_extensions: bool = True
    # The server's model reads pictures (vLLM serving Qwen2.5-VL, glasses serve with Qwen2-VL):
    # they are sent inline as image_url parts with data: URLs.
    images: bool = False

    def __post_init__(self) -> None:
        if min(self.connect_timeout_s, self.read_timeout_s, self.probe_timeout_s) <= 0:
            raise ValueError("remote timeouts must be > 0")
        if min(self.max_line_bytes, self.max_event_bytes, self.max_body_bytes) < 1024:
            raise ValueError("remote size limits must be at least 1024 bytes")

    def resolved_api_key(self) -> str | None:
        return self.api_key or os.environ.get(self.api_key_env) or None


class RemoteBackend:
    def __init__(self, config: RemoteConfig) -> None:
        url = urlsplit(config.base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"base_url must be http(s)://HOST[:PORT]/PATH, got {url.geturl()!r}")
        if url.username or url.password:
            raise ValueError("put the API key in api_key (or its variable), not in base_url")
        self.config = config
        self._url = url
        self._prefix = url.path.rstrip("/")

    def __repr__(self) -> str:
        return f"RemoteBackend(base_url={self.config.base_url!r}, model={self.config.model!r})"

    @property
    def source(self) -> str:
        return "remote"

    @property
    def accepts_images(self) -> bool:
        return self.config.images

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        options = options or GenerationOptions()
        cancel = cancel or CancelToken()
        deadline = time.monotonic() + options.timeout_s if options.timeout_s else None
        body = json.dumps(
            request_body(self.config.model, messages, options, self.config.send_extensions)
        ).encode()
        conn = self._connect(self.config.connect_timeout_s, self.config.read_timeout_s)
        sock = conn.sock  # kept: http.client drops conn.sock once the reply is in
        assert sock is not None
        cancel.attach(Hangup(sock))
        response = None
        try:
            response = self._send(conn, "POST", "/chat/completions", body, cancel)
            if response is None:
                return
            self._check_status(response)
            yield from self._events(sock, response, cancel, deadline)
        finally:
            cancel.detach()
            if response is not None:
                response.close()  # the reply owns the socket once it says Connection: close
            conn.close()

    def probe(self, timeout_s: float | None = None) -> bool:
        """True when ``GET /models`` answers 200 within ``timeout_s``; never raises."""
        timeout = timeout_s if timeout_s is not None else self.config.probe_timeout_s
        try:
            conn = self._connect(timeout, timeout)
        except RemoteError as exc:
            log.debug("probe of %s: %s", self.config.base_url, exc)
            return False
        try:
            response = self._send(conn, "GET", "/models", None, CancelToken())
            ok = response is not None and response.status == 200
            if response is not None:
                response.read(self.config.max_body_bytes)
            return ok
        except (RemoteError, OSError, http.client.HTTPException) as exc:
            log.debug("probe of %s: %s", self.config.base_url, exc)
            return False
        finally:
            conn.close()

    def _connect(self, connect_s: float, read_s: float) -> http.client.HTTPConnection:
        where = self.config.base_url
        try:
            return connect(self._url, connect_s, read_s)
        except TimeoutError as exc:
            raise RemoteTimeoutError(f"no connection to {where} within {connect_s:g} s") from exc
        except OSError as exc:  # refused, unreachable, DNS failure, TLS failure
            raise RemoteUnavailableError(f"cannot connect to {where}: {exc}") from exc

    def _send(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        body: bytes | None,
        cancel: CancelToken,
    ) -> http.client.HTTPResponse | None:
        headers = {"Accept": "text/event-stream, application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        key = self.config.resolved_api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            conn.request(method, self._prefix + path, body=body, headers=headers)
            return conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self._lost(exc, cancel, "waiting for the reply")
            return None

    def _lost(self, exc: BaseException, cancel: CancelToken, doing: str) -> None:
        if cancel.cancelled:
            return None  # our own hangup, not the server's fault
        if isinstance(exc, TimeoutError):
            raise RemoteTimeoutError(
                f"{self.config.base_url}: no data for {self.config.read_timeout_s:g} s {doing}"
            ) from exc
        raise RemoteUnavailableError(
            f"{self.config.base_url}: connection lost {doing}: {exc}"
        ) from exc

    def _check_status(self, response: http.client.HTTPResponse) -> None:
        kind = response.getheader("Content-Type", "")
        if response.status == 200 and kind.startswith("text/event-stream"):
            return
        if response.status == 200:  # e.g. a proxy's login page, or stream: true ignored
            raise RemoteProtocolError(f"{self.config.base_url} answered {kind!r}, not a stream")
        raw = response.read(self.config.max_body_bytes)
        try:
            detail = error_message(json.loads(raw))
        except ValueError:
            detail = raw[:200].decode("utf-8", "replace").strip()
        detail = self._redact(detail or response.reason)[:300]
        what = f"{self.config.base_url} answered {response.status}: {detail}"
        if response.status in (401, 403):
            raise RemoteAuthError(f"{what} (check the API key)")
        if response.status in (408, 429) or response.status >= 500:
            raise RemoteUnavailableError(what)
        raise RemoteRequestError(what)

    def _events(
        self,
        sock: socket.socket,
        response: http.client.HTTPResponse,
        cancel: CancelToken,
        deadline: float | None,
    ) -> Iterator[str]:
        cfg = self.config
        reader = CompletionReader(
            max_line_bytes=cfg.max_line_bytes, max_event_bytes=cfg.max_event_bytes
        )
        while not reader.done:
            if deadline is not None:  # like the local engine: the deadline ends the answer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                sock.settimeout(min(cfg.read_timeout_s, remaining))
            try:
                chunk = response.read1(_READ_CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as exc:
                if deadline is not None and time.monotonic() >= deadline:
                    return
                self._lost(exc, cancel, "mid-answer")
                return
            if cancel.cancelled:
                return
            if not chunk:
                if reader.complete:
                    return
                raise RemoteUnavailableError(f"{cfg.base_url}: the stream ended mid-answer")
            try:
                yield from reader.feed(chunk)
            except StreamFormatError as exc:
                raise RemoteProtocolError(f"{cfg.base_url}: {exc}") from exc
            except InBandError as exc:
                raise RemoteUnavailableError(
                    f"{cfg.base_url} failed mid-answer: {self._redact(str(exc))}"
                ) from None

    def _redact(self, text: str) -> str:
        key = self.config.resolved_api_key()
        return text.replace(key, "***") if key else text
