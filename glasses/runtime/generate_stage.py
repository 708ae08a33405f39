"""Generation: an LLM request -> text deltas, streamed from a worker thread, then the end.

One generation runs at a time. The inbox keeps only the newest request (a question asked while
another waits replaces it), and :meth:`GenerateStage.cancel` stops a running or queued request
at once, without queueing: the modes call it when a newer utterance makes an answer stale.
A failing model ends its request with ``error`` set: the glasses say so and keep working.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any, Final

from glasses.llm.backend import ChatBackend
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.llm.router import AnswerReset
from glasses.pipeline.channel import Channel
from glasses.pipeline.messages import LlmDelta, LlmDone, LlmRequest, Message
from glasses.pipeline.stage import Send, Stage
from glasses.pipeline.worker import Worker

log = logging.getLogger(__name__)

_REMEMBERED_CANCELS: Final = 32  # cancelled ids kept for requests still queued
_HANDOVER_DELTAS: Final = 32  # deltas buffered between the model thread and the loop


class GenerateStage(Stage[LlmRequest]):
    def __init__(
        self,
        inbox: Channel[LlmRequest],
        send: Send,
        backend: ChatBackend,
        options: GenerationOptions,
        **kwargs: Any,
    ) -> None:
        super().__init__("llm", inbox, send, **kwargs)
        self.backend = backend
        self.options = options
        self.worker = Worker("llm")
        self._running: tuple[int, CancelToken] | None = None  # (request id, its token)
        self._cancelled: deque[int] = deque(maxlen=_REMEMBERED_CANCELS)

    def cancel(self, request_id: int) -> None:
        """Stop request ``request_id`` (running: within one token; queued: before it starts)."""
        self._cancelled.append(request_id)
        if self._running is not None and self._running[0] == request_id:
            self._running[1].cancel()

    def cancel_running(self) -> None:
        """Stop the generation now running, if any, within one token."""
        if self._running is not None:
            self._running[1].cancel()

    async def process(self, msg: LlmRequest) -> AsyncGenerator[Message, None]:
        token = CancelToken()
        if msg.request_id in self._cancelled:
            token.cancel()
        self._running = (msg.request_id, token)
        options = replace(self.options, max_new_tokens=msg.max_new_tokens)
        started = self.clock()
        parts: list[str] = []
        error, source = "", ""
        try:
            deltas = self.worker.stream(
                lambda: self.backend.stream_chat(msg.messages, options, token), _HANDOVER_DELTAS
            )
            async with contextlib.aclosing(deltas):
                async for delta in deltas:
                    if isinstance(delta, AnswerReset):  # the router restarted the answer
                        parts.clear()
                        yield LlmDelta(msg.request_id, "", self.clock(), reset=True)
                        continue
                    if not parts:
                        self.metrics.observe_ms("llm.first_token", (self.clock() - started) * 1000)
                        source = self.backend.source  # who serves this request
                    parts.append(delta)
                    yield LlmDelta(msg.request_id, delta, self.clock())
        except Exception as exc:  # shown on the glasses and logged; captions go on
            log.warning("generation %d failed: %s", msg.request_id, exc, exc_info=True)
            error = str(exc) or type(exc).__name__
        finally:
            self._running = None
        self.metrics.observe_ms("llm.total", (self.clock() - started) * 1000)
        if token.cancelled:
            self.metrics.count("llm.cancelled")
        source = source or self.backend.source
        yield LlmDone(msg.request_id, "".join(parts), token.cancelled, error, source, self.clock())
