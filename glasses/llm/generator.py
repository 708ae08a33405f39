"""The decode loop: prefill, then one token at a time, yielding text deltas as they complete."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from glasses.llm.kv_cache import KvCache, KvSnapshot
from glasses.llm.runner import DecoderRunner
from glasses.llm.sampling import Sampler, SamplingConfig
from glasses.llm.text_stream import Detokenizer, StopMatcher
from glasses.llm.tokenizer import Tokenizer


class CancelToken:
    """Cancels a generation from another thread (a UI button, a new voice command).

    The event stops the decode loop before its next token; terminating the active
    ``RunOptions`` also aborts a forward pass already running, so a long prompt chunk does not
    delay the stop.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._run_options: Any = None

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            if self._run_options is not None:
                self._run_options.terminate = True

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def attach(self, run_options: Any) -> None:
        """Called by the engine with the RunOptions of the generation this token controls."""
        with self._lock:
            self._run_options = run_options
            if self._event.is_set():
                run_options.terminate = True

    def detach(self) -> None:
        with self._lock:
            self._run_options = None


FinishReason = Literal[
    "eos", "stop_string", "max_new_tokens", "context_length", "cancelled", "deadline"
]


@dataclass(frozen=True)
class GenerationOptions:
    max_new_tokens: int = 256
    sampling: SamplingConfig | None = None  # None: the model's generation_config defaults
    stop_strings: tuple[str, ...] = ()
    # Wall-clock budget, counted once the engine is free (not while queued behind another).
    timeout_s: float | None = None
    enable_thinking: bool = False  # Qwen3 only: let the model write a <think> block first

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")


@dataclass(frozen=True)
class Timings:
    prompt_tokens: int
    cached_prompt_tokens: int  # taken from the prefix cache, not recomputed
    generated_tokens: int
    time_to_first_token_s: float
    prefill_s: float
    decode_s: float

    @property
    def prefill_tokens_per_s(self) -> float:
        computed = self.prompt_tokens - self.cached_prompt_tokens
        return computed / self.prefill_s if self.prefill_s > 0 else 0.0

    @property
    def decode_tokens_per_s(self) -> float:
        # The first token comes out of the prefill pass; later ones each cost one decode step.
        steps = max(self.generated_tokens - 1, 0)
        return steps / self.decode_s if self.decode_s > 0 else 0.0


@dataclass
class GenerationResult:
    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    finish_reason: FinishReason = "max_new_tokens"
    timings: Timings | None = None


class _Stop(Exception):
    def __init__(self, reason: FinishReason) -> None:
        self.reason = reason


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the longest common prefix of two token sequences."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(differ[0]) if len(differ) else n


@dataclass
class KvState:
    """The engine's KV cache and the tokens it holds (``ids``: its positions ``[0, length)``).

    ``lock`` is held while a forward pass runs, and while a generation makes the cache hold
    its own tokens again (``owner``: the last generation that ran), never while a stream is
    suspended at a yield: a stream that is not consumed blocks nobody.  A generation that
    resumes after another one used the cache gets its tokens back (the growing layout: its
    own tensors, a reference; the shared buffer: the longest common prefix is kept and the
    rest recomputed), so interleaved streams give the same tokens as sequential ones.
    """

    kv: KvCache
    reuse: bool  # the prefix cache: keep what the last generation computed, reuse its prefix
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Sequence[int] = ()
    owner: object = None
    # Growing layout only: the system-turn KV, kept across conversations (references).
    prefix: tuple[tuple[int, ...], KvSnapshot] | None = None
    forwarded_tokens: int = 0  # every token run through the model, resyncs included


@dataclass
class DecodeJob:
    """Everything one generation needs; ``run`` fills ``result`` while yielding deltas."""

    runner: DecoderRunner
    tokenizer: Tokenizer
    state: KvState
    prompt_ids: Sequence[int]
    prefix_ids: Sequence[int]  # the system turn (a growing cache snapshots it)
    sampler: Sampler
    stop_token_ids: frozenset[int]
    options: GenerationOptions
    capacity: int  # KV positions available
    chunk_tokens: int
    cancel: CancelToken
    result: GenerationResult = field(default_factory=GenerationResult)
    started_s: float = 0.0  # set when the job first gets the engine
    expired: bool = False  # the deadline timer fired (it also terminated the running pass)
    fed: list[int] = field(default_factory=list)  # tokens whose KV this generation computed
    _own: KvSnapshot | None = None  # growing layout: the KV of ``fed``

    def _check(self) -> None:
        if self.cancel.cancelled:
            raise _Stop("cancelled")
        timeout = self.options.timeout_s
        if self.expired or (timeout is not None and time.monotonic() - self.started_s > timeout):
            raise _Stop("deadline")

    def _expire(self, run_options: Any) -> None:
        """The deadline timer: a forward pass already running (a long prompt chunk) is
        aborted at the deadline, not after it, as a cancel aborts it."""
        self.expired = True
        run_options.terminate = True

    def _run_model(
        self, ids: Sequence[int], run_options: Any, *, want_logits: bool
    ) -> npt.NDArray[np.float32] | None:
        """One forward pass, the lock held; the cache then holds ``fed``."""
        state = self.state
        try:
            logits = self.runner.forward(ids, state.kv, run_options, want_logits=want_logits)
        except Exception:
            state.ids = self.fed[: state.kv.length]  # what the cache holds (it did not advance)
            self._check()  # a terminated run surfaces as an ORT error: report it as a stop
            raise
        self.fed.extend(ids)
        state.ids, state.owner = self.fed, self
        state.forwarded_tokens += len(ids)
        if not state.kv.shares_storage:
            self._own = state.kv.snapshot()
        return logits

    def _resume(self, run_options: Any) -> None:
        """Make the cache hold ``fed`` again after another generation used it (lock held)."""
        state = self.state
        if state.owner is self:
            return
        state.owner = None
        if self._own is not None:
            state.kv.restore(self._own)  # growing layout: our tensors were never modified
            state.ids, state.owner = self.fed, self
            return
        mine, self.fed = self.fed, []
        keep = common_prefix(state.ids, mine)
        state.kv.truncate(keep)
        self.fed = mine[:keep]
        state.ids = list(self.fed)
        for i in range(keep, len(mine), self.chunk_tokens):
            self._check()
            self._run_model(mine[i : i + self.chunk_tokens], run_options, want_logits=False)

    def _forward(
        self, ids: Sequence[int], run_options: Any, *, want_logits: bool = True
    ) -> npt.NDArray[np.float32] | None:
        with self.state.lock:
            self._check()
            self._resume(run_options)
            self._check()
            return self._run_model(ids, run_options, want_logits=want_logits)

    def _adopt_cache(self) -> int:
        """Start from the longest prefix of the prompt the cache holds (the last generation's
        prompt and output, whatever turn it ends in; at least one prompt token is left to run
        for the logits).  Returns the number of prompt tokens reused."""
        state, prompt = self.state, self.prompt_ids
        cached = 0
        snapshot = None
        if state.reuse:
            cached = min(common_prefix(state.ids, prompt), len(prompt) - 1)
            if state.prefix is not None and not state.kv.shares_storage:
                prefix, snap = state.prefix
                if cached < len(prefix) < len(prompt) and tuple(prompt[: len(prefix)]) == prefix:
                    cached, snapshot = len(prefix), snap
        if snapshot is not None:
            state.kv.restore(snapshot)
        else:
            state.kv.truncate(cached)
        self.fed = list(prompt[:cached])
        state.ids, state.owner = self.fed, self
        if not state.kv.shares_storage:
            self._own = state.kv.snapshot()
        # Room for the whole request up front (a shared KV buffer grows only as needed).
        state.kv.reserve(len(prompt) + self.options.max_new_tokens)
        return cached

    def _prefill(self, run_options: Any) -> tuple[int, npt.NDArray[np.float32]]:
        """Run the uncached prompt in chunks, checking cancel and deadline before each.  On the
        growing layout the system turn's end is a chunk boundary, so its snapshot holds exactly
        the prefix.  Only the last chunk's logits are read."""
        with self.state.lock:
            self._check()
            cached = self._adopt_cache()
        total = len(self.prompt_ids)
        snapshot_at = len(self.prefix_ids)
        if not (self.state.reuse and not self.state.kv.shares_storage):
            snapshot_at = 0
        ends = [total]
        if cached < snapshot_at < total:
            ends.insert(0, snapshot_at)
        start, logits = cached, None
        for end in ends:
            for i in range(start, end, self.chunk_tokens):
                stop = min(i + self.chunk_tokens, end)
                logits = self._forward(
                    self.prompt_ids[i:stop], run_options, want_logits=stop == total
                )
            if end == snapshot_at and self._own is not None:
                self.state.prefix = (tuple(self.prefix_ids), self._own)
            start = end
        assert logits is not None, "the prompt always has tokens after the cached prefix"
        return cached, logits

    def run(self) -> Iterator[str]:
        self.started_s = time.monotonic()
        run_options = self.runner.new_run_options()
        self.cancel.attach(run_options)
        timer = None
        if self.options.timeout_s is not None:
            timer = threading.Timer(self.options.timeout_s, self._expire, (run_options,))
            timer.daemon = True
            timer.start()
        detok = Detokenizer(self.tokenizer)
        stops = StopMatcher(self.options.stop_strings)
        context = list(self.prompt_ids)
        generated = self.result.token_ids
        first_token_s = prefill_s = 0.0
        decode_start = 0.0
        cached = 0
        try:
            cached, logits = self._prefill(run_options)
            prefill_s = time.monotonic() - self.started_s
            decode_start = time.monotonic()
            while True:
                token = self.sampler(logits, context)
                if not generated:
                    first_token_s = time.monotonic() - self.started_s
                if token in self.stop_token_ids:
                    raise _Stop("eos")
                generated.append(token)
                context.append(token)
                delta = stops.push(detok.push(token))
                if delta:
                    self.result.text += delta
                    yield delta
                if stops.stopped:
                    raise _Stop("stop_string")
                if len(generated) >= self.options.max_new_tokens:
                    raise _Stop("max_new_tokens")
                if len(self.fed) + 1 > self.capacity:
                    raise _Stop("context_length")
                step_logits = self._forward([token], run_options)
                assert step_logits is not None
                logits = step_logits
        except _Stop as stop:
            self.result.finish_reason = stop.reason
        finally:
            self.cancel.detach()
            if timer is not None:
                timer.cancel()
        if self.result.finish_reason != "stop_string":
            tail = stops.push(detok.flush())
            if stops.stopped:
                self.result.finish_reason = "stop_string"
            tail += stops.flush()
            if tail:
                self.result.text += tail
                yield tail
        now = time.monotonic()
        self.result.timings = Timings(
            prompt_tokens=len(self.prompt_ids),
            cached_prompt_tokens=cached,
            generated_tokens=len(generated),
            time_to_first_token_s=first_token_s,
            prefill_s=prefill_s,
            decode_s=(now - decode_start) if decode_start else 0.0,
        )
