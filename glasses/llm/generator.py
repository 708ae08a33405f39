"""The decode loop: prefill, then one token at a time, yielding text deltas as they complete."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
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


@dataclass
class DecodeJob:
    """Everything one generation needs; ``run`` fills ``result`` while yielding deltas."""

    runner: DecoderRunner
    tokenizer: Tokenizer
    kv: KvCache
    prompt_ids: Sequence[int]
    sampler: Sampler
    stop_token_ids: frozenset[int]
    options: GenerationOptions
    capacity: int  # KV positions available
    chunk_tokens: int
    cancel: CancelToken
    started_s: float
    # Prompt position where the reusable prefix ends: its KV snapshot goes to ``on_snapshot``.
    snapshot_at: int | None = None
    on_snapshot: Callable[[KvSnapshot], None] | None = None
    result: GenerationResult = field(default_factory=GenerationResult)

    def _check(self) -> None:
        if self.cancel.cancelled:
            raise _Stop("cancelled")
        timeout = self.options.timeout_s
        if timeout is not None and time.monotonic() - self.started_s > timeout:
            raise _Stop("deadline")

    def _forward(
        self, ids: Sequence[int], run_options: Any, *, want_logits: bool = True
    ) -> npt.NDArray[np.float32] | None:
        self._check()
        try:
            return self.runner.forward(ids, self.kv, run_options, want_logits=want_logits)
        except Exception:
            self._check()  # a terminated run surfaces as an ORT error: report it as a stop
            raise

    def _prefill(self, cached: int, run_options: Any) -> npt.NDArray[np.float32]:
        """Run the uncached prompt in chunks; the prefix boundary is a chunk boundary so its
        snapshot holds exactly the prefix.  Only the last chunk's logits are read."""
        total = len(self.prompt_ids)
        ends = [total]
        if self.snapshot_at is not None and cached < self.snapshot_at < total:
            ends.insert(0, self.snapshot_at)
        start, logits = cached, None
        for end in ends:
            for i in range(start, end, self.chunk_tokens):
                stop = min(i + self.chunk_tokens, end)
                logits = self._forward(
                    self.prompt_ids[i:stop], run_options, want_logits=stop == total
                )
            if end == self.snapshot_at and self.on_snapshot is not None:
                self.on_snapshot(self.kv.snapshot())
            start = end
        assert logits is not None, "the prompt always has tokens after the cached prefix"
        return logits

    def run(self, cached: int) -> Iterator[str]:
        run_options = self.runner.new_run_options()
        self.cancel.attach(run_options)
        detok = Detokenizer(self.tokenizer)
        stops = StopMatcher(self.options.stop_strings)
        context = list(self.prompt_ids)
        generated = self.result.token_ids
        first_token_s = prefill_s = 0.0
        decode_start = 0.0
        try:
            logits = self._prefill(cached, run_options)
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
                if self.kv.length + 1 > self.capacity:
                    raise _Stop("context_length")
                step_logits = self._forward([token], run_options)
                assert step_logits is not None
                logits = step_logits
        except _Stop as stop:
            self.result.finish_reason = stop.reason
        finally:
            self.cancel.detach()
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
