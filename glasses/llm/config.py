"""Frozen configuration of the engine and its ONNX Runtime sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GraphOptimization = Literal["disable", "basic", "extended", "all"]


@dataclass(frozen=True)
class SessionConfig:
    """How ONNX Runtime runs the decoder.

    The defaults suit a Raspberry Pi 5 / Jetson CPU: one inter-op thread (a decoder graph is a
    chain, parallel branches buy nothing), and intra-op threads that spin (busy-wait) between
    operators and between tokens instead of sleeping: decode is ~25% faster on 2 cores, because
    waking a sleeping thread costs tens of microseconds and a token runs ~250 operators.  Once a
    generation ends they spin on briefly (~30 ms of CPU) and then sleep.  With
    ``stop_spinning_after_run`` they sleep as soon as each forward pass returns, which costs ~3%
    of decode speed; ``allow_spinning=False`` never spins (another ~20% slower).
    """

    intra_op_threads: int = 0  # 0 lets ORT use one thread per physical core
    inter_op_threads: int = 1
    # In preference order: "auto", "tensorrt", "cuda", "cpu" (the ``llm.providers`` setting) or
    # onnxruntime names; the CPU is always added last (glasses.accel).
    providers: tuple[str, ...] = ("cpu",)
    graph_optimization: GraphOptimization = "all"
    # Compute type ORT uses when it fuses QDQ int4 weights into MatMulNBits (4 = int8 activations,
    # the fast path on ARM and x86).  Pre-quantised MatMulNBits nodes carry their own
    # ``accuracy_level`` attribute, set when the model was quantised.
    qdq_matmulnbits_accuracy_level: int = 4
    allow_spinning: bool = True
    stop_spinning_after_run: bool = False  # ORT's session.force_spinning_stop
    log_severity_level: int = 3  # ORT: 0 verbose .. 4 fatal; 3 keeps its warnings out of the UI


def spinning_allowed(setting: str, *, asr_on_cpu: bool) -> bool:
    """``SessionConfig.allow_spinning`` for the ``llm.spinning`` setting (``auto``/``on``/``off``).

    ``auto`` spins unless speech recognition shares the CPU: spinning threads hold the cores
    while the model generates, and ASR partials then wait for them (renicing the model's thread
    does not help: the spinning threads are ONNX Runtime's own)."""
    if setting not in ("auto", "on", "off"):
        raise ValueError(f"llm.spinning must be auto, on or off, got {setting!r}")
    return not asr_on_cpu if setting == "auto" else setting == "on"


@dataclass(frozen=True)
class EngineConfig:
    """What to load and how much memory the KV cache may take."""

    session: SessionConfig = field(default_factory=SessionConfig)
    # Optimum folders hold several precisions: ``onnx/model_{variant}.onnx`` ("q4", "fp16", ...).
    variant: str | None = None
    # Caps the context below the model's maximum: genai models preallocate the KV cache for the
    # whole context, in float32 on CPU.  Qwen3-0.6B (28 layers x 8 KV heads x 128) needs
    # ~230 MB per 1k tokens; glasses prompts are short, so 2k is the default.
    max_context_tokens: int | None = 2048
    # Score only the last position (the LM head is rewritten at load time when the graph scores
    # every position, see glasses.llm.graph_rewrite): prefill skips a [prompt, vocab] MatMul.
    prune_lm_head: bool = True
    # Prompts run in chunks: bounds the attention scores (heads x chunk x context) and, with an
    # unpruned LM head, the [chunk, vocab] logits (151,936 x 4 bytes per token for Qwen).
    prefill_chunk_tokens: int = 128
    # Keep the KV of the last generation (prompt and answer) and reuse the longest token prefix
    # the next prompt shares with it: a chat's next turn computes only its new tokens.
    prefix_cache: bool = True
