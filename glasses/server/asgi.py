"""The OpenAI-compatible routes as a plain ASGI application.

Every request passes the browser checks first (Host a loopback name while the server listens on
loopback only, so DNS rebinding cannot reach it; no cross-origin ``Origin``; POST bodies must be
``application/json``), then the bearer key.  A body is read only up to ``max_body_bytes`` and
only until the request's deadline (408 after it).  The engine is synchronous: it runs on one
worker thread, a token per hop, while the event loop keeps serving everyone else; a client that
hangs up (or stops reading for ``write_timeout_s``) cancels its generation.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from glasses.llm.backend import accepts_images
from glasses.llm.chat_template import ChatMessage
from glasses.llm.errors import ContextOverflowError
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.llm.vision.preprocess import ImageError
from glasses.openai_wire.errors import ApiError
from glasses.openai_wire.response import Completion, model_list
from glasses.openai_wire.sse import DONE, encode_event
from glasses.server.admission import ClientGone, EngineGate, overloaded
from glasses.server.config import ServerConfig
from glasses.server.request import ChatRequest, parse_chat_request
from glasses.server.response import finish_reason, usage

if TYPE_CHECKING:
    from glasses.llm.engine import TextStream

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
T = TypeVar("T")

# scope["extensions"][DEADLINE_EXTENSION]["at"]: when (loop time) the request must be all in;
# set by protocol.GuardedH11Protocol.
DEADLINE_EXTENSION = "glasses.request_deadline"
_ROUTES = {"/v1/models": "GET", "/v1/chat/completions": "POST"}


class ServedEngine(Protocol):
    """What the server needs of :class:`glasses.llm.LlmEngine` (tests substitute fakes)."""

    @property
    def default_sampling(self) -> SamplingConfig: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> TextStream: ...


class _Stalled(Exception):
    """The client read nothing of its answer for ``write_timeout_s``."""


class _Call:
    """One chat request's stop switch: the engine's token and the event loop's event."""

    def __init__(self) -> None:
        self.cancel = CancelToken()
        self.stopped = asyncio.Event()
        self.server_closing = False

    def stop(self) -> None:
        self.cancel.cancel()
        self.stopped.set()


class _Exchange:
    """One request and its answer."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, deadline: float) -> None:
        self.scope, self.receive, self._send = scope, receive, send
        self.deadline = deadline
        self.headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            if key not in self.headers:  # the first of repeated headers counts
                self.headers[key] = value.decode("latin-1")
        self.method: str = scope["method"]
        self.path: str = scope["path"].rstrip("/")
        self.body_read = False
        self.started = False

    async def send(self, message: Message, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(self._send(message), timeout_s)
        except asyncio.TimeoutError:
            raise _Stalled from None

    async def start(self, status: int, headers: list[tuple[str, str]], timeout_s: float) -> None:
        self.started = True
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await self.send(
            {"type": "http.response.start", "status": status, "headers": raw}, timeout_s
        )

    async def body(self, data: bytes, timeout_s: float, *, more: bool = False) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more}, timeout_s)

    async def send_json(self, status: int, payload: dict[str, Any], timeout_s: float) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
        if status == 401:
            headers.append(("www-authenticate", "Bearer"))
        if status == 503:
            headers.append(("retry-after", "1"))
        declares_body = self.headers.get("content-length", "0").strip() != "0"
        if not self.body_read and (declares_body or "transfer-encoding" in self.headers):
            # An unread body must not be taken for the next request, nor trickle on unbounded.
            headers.append(("connection", "close"))
        await self.start(status, headers, timeout_s)
        await self.body(data, timeout_s)


class ChatApp:
    """``ChatApp(engine, config)`` is the ASGI callable; :meth:`close` (on its event loop) stops
    every generation and turns away what is still queued."""

    def __init__(self, engine: ServedEngine, config: ServerConfig, created: int) -> None:
        self.engine = engine
        self.config = config
        self.created = created
        self.gate = EngineGate(config.max_queue)
        self._calls: set[_Call] = set()
        self._closed = False
        # One generation at a time, so one thread; prompts are rendered on the loop's default
        # pool (concurrently, as before: a long prompt's 400 should not wait for the engine).
        self._engine_thread = ThreadPoolExecutor(1, thread_name_prefix="glasses-engine")

    def close(self) -> None:
        self._closed = True
        for call in list(self._calls):
            call.server_closing = True
            call.stop()

    def shutdown_threads(self) -> None:
        self._engine_thread.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        loop = asyncio.get_running_loop()
        deadline = scope.get("extensions", {}).get(DEADLINE_EXTENSION, {}).get("at")
        if deadline is None:  # another server than ours: count from the head's arrival
            deadline = loop.time() + self.config.request_timeout_s
        exchange = _Exchange(scope, receive, send, deadline)
        timeout = self.config.write_timeout_s
        try:
            try:
                await self._dispatch(exchange)
            except ApiError as exc:
                if exchange.started:
                    raise
                await exchange.send_json(exc.status, exc.body(), timeout)
        except (_Stalled, ClientGone):
            pass  # nobody reads: uvicorn closes the connection as the response stays unfinished

    async def _dispatch(self, exchange: _Exchange) -> None:
        self._check_browser_rules(exchange)
        self._authorize(exchange)
        method = _ROUTES.get(exchange.path)
        if method is None:
            raise ApiError(404, f"no route {exchange.method} {exchange.path}", code="not_found")
        if exchange.method != method:
            raise ApiError(405, f"{exchange.path} takes {method}", code="method_not_allowed")
        if method == "GET":
            payload = model_list(self.config.model_id, self.created)
            await exchange.send_json(200, payload, self.config.write_timeout_s)
        else:
            await self._chat(exchange)

    def _check_browser_rules(self, exchange: _Exchange) -> None:
        host = exchange.headers.get("host", "")
        if self.config.loopback_only and not _is_loopback_host(host):
            # A page whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name.
            raise ApiError(403, f"Host {host!r:.80} is not this server", code="forbidden_host")
        origin = exchange.headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            raise ApiError(403, "cross-origin requests are not accepted", code="forbidden_origin")
        if exchange.method == "POST":
            kind = exchange.headers.get("content-type", "").partition(";")[0].strip().lower()
            if kind != "application/json":
                raise ApiError(415, "the body must be JSON (Content-Type: application/json)")

    def _authorize(self, exchange: _Exchange) -> None:
        key = self.config.api_key
        if key is None:
            return
        scheme, _, given = exchange.headers.get("authorization", "").partition(" ")
        # Constant-time comparison: the answer time must not reveal how much of a guess matched.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), key.encode()
        ):
            raise ApiError(
                401,
                "a valid API key is required (Authorization: Bearer KEY)",
                code="invalid_api_key",
            )

    async def _read_body(self, exchange: _Exchange) -> bytes:
        if "chunked" in exchange.headers.get("transfer-encoding", "").lower():
            raise ApiError(411, "send the body with a Content-Length (no chunked encoding)")
        try:
            size = int(exchange.headers.get("content-length", ""))
        except ValueError:
            raise ApiError(411, "a Content-Length header is required") from None
        if not 0 <= size <= self.config.max_body_bytes:
            raise ApiError(413, f"the body may be at most {self.config.max_body_bytes} bytes")
        loop = asyncio.get_running_loop()
        body = bytearray()
        more = True
        while more:
            remaining = exchange.deadline - loop.time()
            try:
                if remaining <= 0:
                    raise asyncio.TimeoutError
                message = await asyncio.wait_for(exchange.receive(), remaining)
            except asyncio.TimeoutError:
                limit = self.config.request_timeout_s
                raise ApiError(408, f"the request did not arrive within {limit:g} s") from None
            if message["type"] == "http.disconnect":
                raise ClientGone
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > size:  # h11 enforces Content-Length; this is belt and braces
                raise ApiError(400, "the body is longer than its Content-Length")
        exchange.body_read = True
        return bytes(body)

    async def _chat(self, exchange: _Exchange) -> None:
        body = await self._read_body(exchange)
        images = accepts_images(self.engine)
        request = parse_chat_request(body, self.engine.default_sampling, self.config, images=images)
        call = _Call()
        self._calls.add(call)
        if self._closed:
            call.server_closing = True
            call.stop()
        watcher = asyncio.ensure_future(self._watch(exchange, call))
        try:
            try:
                stream = await asyncio.to_thread(
                    self.engine.stream, request.messages, request.options, call.cancel
                )
            except ContextOverflowError as exc:
                raise ApiError(
                    400, str(exc), param="messages", code="context_length_exceeded"
                ) from exc
            except ImageError as exc:  # a picture that does not decode, or too small
                raise ApiError(400, str(exc), param="messages") from exc
            except Exception as exc:
                log.warning("the prompt could not be prepared: %s", exc)
                raise ApiError(500, f"generation failed: {exc}", kind="server_error") from exc
            try:
                async with self.gate.turn(self.config.queue_timeout_s, call.stopped):
                    try:
                        if request.stream:
                            await self._send_stream(exchange, stream, request, call)
                        else:
                            await self._send_whole(exchange, stream, call)
                    finally:
                        call.cancel.cancel()  # a no-op after a finished generation
                        await self._on_engine(stream.close)  # the engine is free once this returns
            except ClientGone:
                if call.server_closing and not exchange.started:
                    raise overloaded("the server is shutting down; retry shortly") from None
                raise
        finally:
            watcher.cancel()
            self._calls.discard(call)

    async def _watch(self, exchange: _Exchange, call: _Call) -> None:
        """Waits for the client to hang up (the body is read: the next event is the end)."""
        while (await exchange.receive())["type"] != "http.disconnect":
            pass
        call.stop()

    async def _on_engine(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._engine_thread, fn, *args)

    async def _send_whole(self, exchange: _Exchange, stream: TextStream, call: _Call) -> None:
        try:
            await self._on_engine(_drain, stream)
        except Exception as exc:  # an engine failure is a 500, not a dropped connection
            log.warning("generation failed: %s", exc)
            raise ApiError(500, f"generation failed: {exc}", kind="server_error") from exc
        if call.cancel.cancelled:  # the client left (or the server is stopping)
            raise ClientGone
        result = stream.result
        payload = Completion(self.config.model_id).whole(
            result.text, finish_reason(result.finish_reason), usage(result)
        )
        await exchange.send_json(200, payload, self.config.write_timeout_s)
        _log_done(stream)

    async def _send_stream(
        self, exchange: _Exchange, stream: TextStream, request: ChatRequest, call: _Call
    ) -> None:
        timeout = self.config.write_timeout_s
        completion = Completion(self.config.model_id)

        async def event(payload: dict[str, Any] | str) -> None:
            await exchange.body(encode_event(payload), timeout, more=True)

        headers = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
        await exchange.start(200, headers, timeout)
        try:
            await event(completion.chunk({"role": "assistant", "content": ""}))
            while (delta := await self._on_engine(next, stream, None)) is not None:
                await event(completion.chunk({"content": delta}))
            if not call.cancel.cancelled:
                await event(completion.chunk({}, finish_reason(stream.result.finish_reason)))
                if request.include_usage:
                    await event(completion.usage_chunk(usage(stream.result)))
                await event(DONE)
                _log_done(stream)
            # Stopped from our side: no [DONE], so the client sees an incomplete answer.
        except _Stalled:
            call.stop()
            raise
        except Exception as exc:
            log.warning("generation failed mid-stream: %s", exc)
            error = ApiError(500, f"generation failed: {exc}", kind="server_error").body()
            await event(error)  # headers are gone already: report in-band, leave out [DONE]
        await exchange.body(b"", timeout)


def _drain(stream: TextStream) -> None:
    for _ in stream:
        pass


def _is_loopback_host(host: str) -> bool:
    """Whether a Host header names this machine (``localhost``, 127.0.0.0/8, ``[::1]``)."""
    name = host.lower()
    if name.startswith("["):
        name, _, rest = name[1:].partition("]")
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return False
    elif name.count(":") == 1:
        name, _, port = name.partition(":")
        if not port.isdigit():
            return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _log_done(stream: TextStream) -> None:
    result = stream.result
    log.info(
        "chat completion: %d tokens, %s, %.2f s to first token",
        len(result.token_ids),
        result.finish_reason,
        result.timings.time_to_first_token_s if result.timings else 0.0,
    )
