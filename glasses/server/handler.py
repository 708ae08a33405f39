"""HTTP handling of the OpenAI-compatible routes: auth, bounded bodies, JSON or SSE answers."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from glasses.llm.errors import ContextOverflowError
from glasses.llm.generator import CancelToken
from glasses.server.admission import ClientGone, DisconnectWatcher
from glasses.server.request import ApiError, ChatRequest, parse_chat_request
from glasses.server.response import Completion, finish_reason, model_list
from glasses.server.sse import DONE, encode_event

if TYPE_CHECKING:
    from glasses.llm.engine import TextStream
    from glasses.server.app import ChatServer

log = logging.getLogger(__name__)

# What a vanished client looks like while we write to it.
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for JSON answers; SSE answers close
    _body_read = False
    server_version = "glasses"
    sys_version = ""  # no Python version in the Server header
    # The server makes a subclass binding its ChatServer and the socket read/write timeout.
    app: ChatServer

    def log_message(self, format: str, *args: Any) -> None:
        # The request line only (never headers, which carry the key), and quietly.
        log.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        self._dispatch({"/v1/models": self._models})

    def do_POST(self) -> None:
        self._dispatch({"/v1/chat/completions": self._chat})

    def _dispatch(self, routes: dict[str, Any]) -> None:
        self._body_read = False
        try:
            self._authorize()
            route = routes.get(self.path.split("?", 1)[0].rstrip("/"))
            if route is None:
                raise ApiError(404, f"no route {self.command} {self.path}", code="not_found")
            route()
        except ApiError as exc:
            if self.command == "POST" and not self._body_read:
                self.close_connection = True  # an unread body must not be taken for a request
            self._send_json(exc.status, exc.body())

    def _authorize(self) -> None:
        key = self.app.config.api_key
        if key is None:
            return
        header = self.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        # Constant-time comparison: the answer time must not reveal how much of a guess matched.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), key.encode()
        ):
            raise ApiError(
                401,
                "a valid API key is required (Authorization: Bearer KEY)",
                code="invalid_api_key",
            )

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        if status == 503:
            self.send_header("Retry-After", "1")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(data)
        except _GONE:
            self.close_connection = True

    def _models(self) -> None:
        self._send_json(200, model_list(self.app.config.model_id, self.app.created))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise ApiError(411, "send the body with a Content-Length (no chunked encoding)")
        try:
            size = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise ApiError(411, "a Content-Length header is required") from None
        if not 0 <= size <= self.app.config.max_body_bytes:
            raise ApiError(413, f"the body may be at most {self.app.config.max_body_bytes} bytes")
        body = self.rfile.read(size)
        self._body_read = True
        if len(body) != size:
            self.close_connection = True
            raise ApiError(400, "the request body ended early")
        return body

    def _chat(self) -> None:
        body = self._read_body()
        request = parse_chat_request(body, self.app.engine.default_sampling, self.app.config)
        cancel = CancelToken()
        config = self.app.config
        try:
            stream = self.app.engine.stream(request.messages, request.options, cancel)
        except ContextOverflowError as exc:
            raise ApiError(400, str(exc), param="messages", code="context_length_exceeded") from exc
        try:
            with (
                self.app.active(cancel),
                DisconnectWatcher(self.connection, cancel, config.disconnect_poll_s),
                self.app.gate.turn(cancel, config.queue_timeout_s, config.disconnect_poll_s),
            ):
                if request.stream:
                    self._send_stream(stream, request, cancel)
                else:
                    self._send_whole(stream, cancel)
        except ClientGone:
            self.close_connection = True
        finally:
            stream.close()

    def _send_whole(self, stream: TextStream, cancel: CancelToken) -> None:
        try:
            for _ in stream:
                pass
        except Exception as exc:  # an engine failure is a 500, not a dropped connection
            log.warning("generation failed: %s", exc)
            raise ApiError(500, f"generation failed: {exc}", kind="server_error") from exc
        if cancel.cancelled:  # the client left (or the server is stopping): nobody to tell
            self.close_connection = True
            return
        self._send_json(200, Completion(self.app.config.model_id).whole(stream.result))
        self._log_done(stream)

    def _send_stream(self, stream: TextStream, request: ChatRequest, cancel: CancelToken) -> None:
        completion = Completion(self.app.config.model_id)
        self.close_connection = True  # the end of the body is the end of the connection
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(encode_event(completion.chunk({"role": "assistant", "content": ""})))
            for delta in stream:
                self.wfile.write(encode_event(completion.chunk({"content": delta})))
            if cancel.cancelled:
                return  # stopped from our side: no [DONE], so the client sees an incomplete answer
            reason = finish_reason(stream.result.finish_reason)
            self.wfile.write(encode_event(completion.chunk({}, reason)))
            if request.include_usage:
                self.wfile.write(encode_event(completion.usage_chunk(stream.result)))
            self.wfile.write(encode_event(DONE))
            self._log_done(stream)
        except _GONE:
            cancel.cancel()  # the client hung up: stop generating for nobody
        except Exception as exc:
            log.warning("generation failed mid-stream: %s", exc)
            error = ApiError(500, f"generation failed: {exc}", kind="server_error").body()
            # Headers are gone already: report in-band and leave out [DONE].
            with contextlib.suppress(*_GONE):
                self.wfile.write(encode_event(error))

    def _log_done(self, stream: TextStream) -> None:
        result = stream.result
        log.info(
            "chat completion: %d tokens, %s, %.2f s to first token",
            len(result.token_ids),
            result.finish_reason,
            result.timings.time_to_first_token_s if result.timings else 0.0,
        )
