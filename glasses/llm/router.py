"""Remote model when it is there and quick, the local one otherwise.

:class:`FallbackBackend` sends each request to the remote while it is believed up.  When the
remote fails -- refused, timed out, a server error, no first token within
``first_token_budget_s``, or silent for ``stall_budget_s`` mid-answer -- the local model answers
the same request, and later ones, until a cheap probe (``GET /v1/models``) finds the remote
back.  Probes back off while failures go on, so a remote that answers probes but is too slow
is not retried on every request.  Each request while down starts a due probe in the
background; calling :meth:`FallbackBackend.probe_soon` from a periodic tick (the status bar's)
also recovers while idle.

Failure mid-answer: the local model cannot continue another model's sentence, so the answer
restarts locally and the stream first yields :data:`ANSWER_RESET`: the consumer discards what it
showed of this answer (one that ignores the marker appends an empty string).
:func:`answer_text` applies the rule.  The health rules are pure functions of
:class:`RemoteHealth` and a time in seconds, tested with time as data.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from firmware_bridge.backoff import Backoff
from glasses.llm.backend import ChatBackend, accepts_images
from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.llm.remote import RemoteRequestError

log = logging.getLogger(__name__)


class AnswerReset(str):
    """The marker type of :data:`ANSWER_RESET`."""


ANSWER_RESET = AnswerReset("")


def answer_text(deltas: Iterable[str]) -> str:
    """The final answer of a stream: text after the last :data:`ANSWER_RESET`."""
    parts: list[str] = []
    for delta in deltas:
        if isinstance(delta, AnswerReset):
            parts.clear()
        else:
            parts.append(delta)
    return "".join(parts)


class ProbedBackend(ChatBackend, Protocol):
    def probe(self, timeout_s: float | None = None) -> bool:
        """Cheap reachability check; never raises."""
        ...


@dataclass(frozen=True)
class RouterConfig:
    # The remote must yield its first token this soon after the request, or the local one runs.
    first_token_budget_s: float = 2.0
    # Once it has started, the remote may go this long without a delta (a dropped Wi-Fi link
    # shows up as silence, not as an error, until the read timeout).
    stall_budget_s: float = 5.0
    # Wait after a failure before the first probe; doubles per further failure, up to the max.
    probe_interval_s: float = 10.0
    max_probe_interval_s: float = 120.0
    # Limit of one probe (connection and answer).
    probe_timeout_s: float = 1.0

    def __post_init__(self) -> None:
        if (
            min(self.first_token_budget_s, self.stall_budget_s, self.probe_timeout_s) <= 0
            or self.probe_interval_s < 0
        ):
            raise ValueError("router budgets and timeouts must be > 0")
        if self.max_probe_interval_s < self.probe_interval_s:
            raise ValueError("max_probe_interval_s must be >= probe_interval_s")


@dataclass(frozen=True)
class RemoteHealth:
    up: bool = True  # believed usable: requests go remote
    failures: int = 0  # consecutive failures (requests or probes) since the last good answer
    next_probe_at_s: float = 0.0  # clock time when a probe is due (while down)
    last_error: str = ""


def probe_due(health: RemoteHealth, now_s: float) -> bool:
    return not health.up and now_s >= health.next_probe_at_s


def after_failure(
    health: RemoteHealth, now_s: float, config: RouterConfig, error: str
) -> RemoteHealth:
    failures = health.failures + 1
    delay = Backoff(config.probe_interval_s, config.max_probe_interval_s).delay_after_s(failures)
    return RemoteHealth(
        up=False, failures=failures, next_probe_at_s=now_s + delay, last_error=error
    )


def after_answer(health: RemoteHealth) -> RemoteHealth:
    """A complete remote answer: fully healthy again (the backoff starts over)."""
    return RemoteHealth()


def after_probe(health: RemoteHealth, now_s: float, config: RouterConfig, ok: bool) -> RemoteHealth:
    # A good probe only lets requests through; failures are kept so a remote that answers
    # probes but fails requests is retried ever more rarely.
    if ok:
        return replace(health, up=True)
    return after_failure(health, now_s, config, health.last_error or "probe failed")


class FallbackBackend:
    """A :class:`ChatBackend` over a remote and a local one; one request at a time.  ``clock``
    (seconds) paces the probes: tests pass a fake one."""

    def __init__(
        self,
        remote: ProbedBackend,
        local: ChatBackend,
        config: RouterConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.remote, self.local = remote, local
        self.config = config or RouterConfig()
        self._clock = clock
        self._lock = threading.Lock()
        self._health = RemoteHealth()
        self._serving: str | None = None  # source of the request in progress
        self._prober: threading.Thread | None = None

    @property
    def health(self) -> RemoteHealth:
        with self._lock:
            return self._health

    @property
    def accepts_images(self) -> bool:
        """Either side takes pictures: a chat with pictures skips a remote that reads none
        (``remote.images`` off), and a local text model refuses them with a clear error."""
        return accepts_images(self.remote) or accepts_images(self.local)

    @property
    def source(self) -> str:
        """Who serves the request in progress, else who would serve the next: "remote" or
        "local" (for the status bar)."""
        with self._lock:
            return self._serving or ("remote" if self._health.up else "local")

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        cancel = cancel or CancelToken()
        # Pictures never reach a remote that reads none: it would get them all the same.
        remote_reads = accepts_images(self.remote) or not any(m.images for m in messages)
        try:
            if not self.health.up:
                self.probe_soon()
            elif remote_reads:
                self._set_serving("remote")
                if (yield from self._try_remote(messages, options, cancel)) or cancel.cancelled:
                    return
            self._set_serving("local")
            yield from self.local.stream_chat(messages, options, cancel)
        finally:
            self._set_serving(None)

    def probe_now(self) -> bool:
        """Probe the remote (blocking, up to ``probe_timeout_s``) and update the health."""
        ok = self.remote.probe(self.config.probe_timeout_s)
        with self._lock:
            was_up = self._health.up
            self._health = after_probe(self._health, self._clock(), self.config, ok)
        if ok and not was_up:
            log.info("remote model is reachable again: trying it for the next request")
        return ok

    def probe_soon(self) -> None:
        """Probe in the background if one is due and none is running (never blocks)."""
        with self._lock:
            if not probe_due(self._health, self._clock()):
                return
            if self._prober is not None and self._prober.is_alive():
                return
            self._prober = threading.Thread(target=self.probe_now, daemon=True, name="probe")
            self._prober.start()

    def _set_serving(self, source: str | None) -> None:
        with self._lock:
            self._serving = source

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, RemoteRequestError):
            log.warning("remote model refused the request (%s); answering locally", error)
            return  # about this request, not the remote's health
        with self._lock:
            was_up = self._health.up
            self._health = after_failure(self._health, self._clock(), self.config, str(error))
            retry_s = self._health.next_probe_at_s - self._clock()
        if was_up:
            log.warning("remote model unavailable (%s); local model until it is back", error)
        log.debug("next remote probe in %.0f s", retry_s)

    def _try_remote(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None,
        cancel: CancelToken,
    ) -> Generator[str, None, bool]:
        """Relays the remote's answer; returns True when it is complete (or the caller
        cancelled), False when the local model must answer instead."""
        remote_cancel = CancelToken()  # stops the remote without cancelling the fallback
        items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=64)
        pump = _Pump(self.remote, messages, options, remote_cancel, items)
        threading.Thread(target=pump.run, daemon=True, name="remote-stream").start()
        # Real time, not self._clock: these are actual waits (the clock paces probes).
        budget, stall = self.config.first_token_budget_s, self.config.stall_budget_s
        deadline = time.monotonic() + budget
        shown = False
        try:
            while not cancel.cancelled:
                wait = min(0.05, deadline - time.monotonic())
                if wait <= 0:
                    late = (
                        f"stalled {stall:g} s mid-answer"
                        if shown
                        else f"no first token in {budget:g} s"
                    )
                    self._failed(TimeoutError(late))
                    if shown:
                        yield ANSWER_RESET
                    return False
                try:
                    kind, value = items.get(timeout=wait)
                except queue.Empty:
                    continue
                if kind == "delta":
                    shown = True
                    yield str(value)
                    # Counted from here: time the consumer spends between deltas is not a stall.
                    deadline = time.monotonic() + stall
                elif kind == "end":
                    with self._lock:
                        self._health = after_answer(self._health)
                    return True
                else:
                    assert isinstance(value, BaseException)
                    self._failed(value)
                    if shown:
                        yield ANSWER_RESET
                    return False
            return True
        finally:
            remote_cancel.cancel()


@dataclass
class _Pump:
    """Runs the remote stream on its own thread, so waiting for it can time out."""

    backend: ChatBackend
    messages: Sequence[ChatMessage]
    options: GenerationOptions | None
    cancel: CancelToken
    items: queue.Queue[tuple[str, object]]

    def run(self) -> None:
        try:
            for delta in self.backend.stream_chat(self.messages, self.options, self.cancel):
                if delta and not self._put("delta", delta):
                    return
            self._put("end", None)
        except Exception as exc:  # handed to the consumer, which decides
            self._put("error", exc)

    def _put(self, kind: str, value: object) -> bool:
        while not self.cancel.cancelled:
            try:
                self.items.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
