"""A ``POST /v1/chat/completions`` body -> engine messages and options, or a clear 400.

The body is checked by :func:`glasses.openai_wire.request.parse_request`; here its values
become engine types.  When neither ``temperature`` nor ``top_p`` is given the model's own
generation_config defaults apply, as vLLM does.  Pictures (``image_url`` parts with data:
URLs, for a vision-language engine) are checked here as far as their header: a format Pillow
reads, at most ``max_image_pixels``; the engine decodes them fully on its own thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Any

from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.openai_wire.errors import bad
from glasses.openai_wire.request import WireRequest, parse_request
from glasses.server.config import ServerConfig


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[ChatMessage, ...]
    options: GenerationOptions
    stream: bool
    include_usage: bool  # stream_options.include_usage: a last chunk with token counts


def parse_chat_request(
    body: bytes, defaults: SamplingConfig, config: ServerConfig, *, images: bool = False
) -> ChatRequest:
    """``images``: the engine reads pictures (else a request with one is a 400)."""
    wire = parse_request(
        body,
        default_max_tokens=config.default_max_tokens,
        max_tokens_limit=config.max_tokens_limit,
        max_image_bytes=config.max_image_bytes if images else 0,
    )
    pictures = wire.images or tuple(() for _ in wire.messages)
    for i, message_images in enumerate(pictures):
        for data in message_images:
            _check_picture(data, f"messages[{i}].content", config.max_image_pixels)
    options = GenerationOptions(
        max_new_tokens=wire.max_tokens,
        sampling=_sampling(wire, defaults),
        stop_strings=wire.stop,
        timeout_s=config.max_generation_s,
        enable_thinking=wire.enable_thinking,
    )
    return ChatRequest(
        messages=tuple(
            ChatMessage(role, text, images)
            for (role, text), images in zip(wire.messages, pictures, strict=True)
        ),
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


def _check_picture(data: bytes, param: str, max_pixels: int) -> None:
    """A 400 unless ``data`` starts like a picture Pillow reads, of at most ``max_pixels``
    (its header only: cheap on the event loop, and no decompression bomb gets decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise bad(
            f"{param}: the picture cannot be decoded (JPEG, PNG, WebP ...): {exc}", param
        ) from None
    except Image.DecompressionBombError:
        width, height = max_pixels + 1, 1
    if width * height > max_pixels:
        raise bad(f"{param}: the picture is {width}x{height}, over {max_pixels} pixels", param)
