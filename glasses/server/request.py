"""A ``POST /v1/chat/completions`` body -> engine messages and options, or a clear 400.

The body is checked by :func:`glasses.openai_wire.request.parse_request`; here its values
become engine types.  When neither ``temperature`` nor ``top_p`` is given the model's own
generation_config defaults apply, as vLLM does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.openai_wire.request import WireRequest, parse_request
from glasses.server.config import ServerConfig


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[ChatMessage, ...]
    options: GenerationOptions
    stream: bool
    include_usage: bool  # stream_options.include_usage: a last chunk with token counts


def parse_chat_request(body: bytes, defaults: SamplingConfig, config: ServerConfig) -> ChatRequest:
    wire = parse_request(
        body,
        default_max_tokens=config.default_max_tokens,
        max_tokens_limit=config.max_tokens_limit,
    )
    options = GenerationOptions(
        max_new_tokens=wire.max_tokens,
        sampling=_sampling(wire, defaults),
        stop_strings=wire.stop,
        timeout_s=config.max_generation_s,
        enable_thinking=wire.enable_thinking,
    )
    return ChatRequest(
        messages=tuple(ChatMessage(role, text) for role, text in wire.messages),
        options=options,
        stream=wire.stream,
        include_usage=wire.include_usage,
    )


def _sampling(wire: WireRequest, defaults: SamplingConfig) -> SamplingConfig:
    changes: dict[str, Any] = {}
    if wire.temperature is not None:
        # OpenAI's temperature 0 means "as deterministic as possible": argmax.
        changes.update(greedy=wire.temperature == 0, temperature=wire.temperature or 1.0)
    if wire.top_p is not None:
        changes["top_p"] = wire.top_p
    if wire.top_k is not None:
        changes["top_k"] = wire.top_k
    if wire.repetition_penalty is not None:
        changes["repetition_penalty"] = wire.repetition_penalty
    if wire.seed_given:
        changes["seed"] = wire.seed
    return replace(defaults, **changes) if changes else defaults
