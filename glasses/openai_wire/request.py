"""A ``POST /v1/chat/completions`` body: built by a client, checked by a server.

The server side (:func:`parse_request`) understands the fields the OpenAI client sends by
default; unknown fields are ignored (clients add new ones all the time); known features
glasses lacks (tools, n > 1, logprobs, penalties) are refused rather than silently dropped.
Values come out plain (:class:`WireRequest`), the server maps them to engine options.  The
client side (:func:`request_body`) reads anything shaped like the engine's messages and
options (:class:`Message`, :class:`Options`), so this module needs no engine import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from glasses.openai_wire.errors import bad
from glasses.openai_wire.images import image_bytes, message_content
from glasses.openai_wire.values import integer, parse_json, real, typed

Role = Literal["system", "user", "assistant"]
_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
}
MAX_STOP_STRINGS = 4  # OpenAI's limit
MAX_SEED = 2**63  # seeds are 0 <= seed < 2**63 (a signed 64-bit integer's range, non-negative)
MAX_TOP_K = 2**31 - 1
MAX_IMAGES = 4  # pictures in one request (each costs the vision encoder hundreds of tokens)


@dataclass(frozen=True)
class WireRequest:
    """A checked request; None for a sampling field the client left out."""

    messages: tuple[tuple[Role, str], ...]  # (role, text); the last one is the user's
    max_tokens: int
    stop: tuple[str, ...]
    stream: bool
    include_usage: bool  # stream_options.include_usage: a last chunk with token counts
    enable_thinking: bool  # chat_template_kwargs.enable_thinking
    temperature: float | None
    top_p: float | None
    top_k: int | None  # vLLM extension; 0 = off (-1 is read as 0)
    repetition_penalty: float | None  # vLLM extension
    seed_given: bool  # "seed" present, even as null (which clears a default seed)
    seed: int | None
    # The pictures of each message (image_url parts, decoded from data: URLs), in order.
    images: tuple[tuple[bytes, ...], ...] = ()


def parse_request(
    body: bytes, *, default_max_tokens: int, max_tokens_limit: int, max_image_bytes: int = 0
) -> WireRequest:
    """The checked request, or :class:`~glasses.openai_wire.errors.ApiError` (400).
    ``max_image_bytes``: the largest picture taken (0: pictures are refused)."""
    data = parse_json(body)
    if not isinstance(data, dict):
        raise bad("the request body must be a JSON object")
    _refuse_unsupported(data)
    stream = typed(data, "stream", bool, False)
    stream_options = typed(data, "stream_options", dict, {})
    max_tokens = typed(data, "max_completion_tokens", int, None)
    if max_tokens is None:
        max_tokens = typed(data, "max_tokens", int, default_max_tokens)
    if not 1 <= max_tokens <= max_tokens_limit:
        raise bad(f"max_tokens must be 1..{max_tokens_limit}", "max_tokens")
    kwargs = typed(data, "chat_template_kwargs", dict, {})
    temperature = real(data, "temperature", 0.0, 2.0)
    top_p = real(data, "top_p", 0.0, 1.0, low_open=True)
    top_k = integer(data, "top_k", -1, MAX_TOP_K)
    penalty = real(data, "repetition_penalty", 0.0, math.inf, low_open=True)
    seed = integer(data, "seed", 0, MAX_SEED - 1) if "seed" in data else None
    stop = _stops(data.get("stop"))
    enable_thinking = typed(kwargs, "enable_thinking", bool, False)
    messages = _messages(data.get("messages"), max_image_bytes)
    if sum(len(images) for _, _, images in messages) > MAX_IMAGES:
        raise bad(f"at most {MAX_IMAGES} pictures in one request", "messages")
    return WireRequest(
        messages=tuple((role, text) for role, text, _ in messages),
        max_tokens=max_tokens,
        stop=stop,
        stream=stream,
        include_usage=bool(stream and typed(stream_options, "include_usage", bool, False)),
        enable_thinking=enable_thinking,
        temperature=temperature,
        top_p=top_p,
        top_k=None if top_k is None else max(top_k, 0),
        repetition_penalty=penalty,
        seed_given="seed" in data,
        seed=seed,
        images=tuple(images for _, _, images in messages),
    )


def _refuse_unsupported(data: dict[str, Any]) -> None:
    if typed(data, "n", int, 1) != 1:
        raise bad("only n=1 is supported", "n")
    if data.get("tools") or data.get("functions"):
        raise bad("tool and function calling are not supported", "tools")
    if data.get("logprobs"):
        raise bad("logprobs are not supported", "logprobs")
    for key in ("frequency_penalty", "presence_penalty"):
        if real(data, key, -2.0, 2.0) not in (None, 0):
            raise bad(f"{key} is not supported (use repetition_penalty)", key)
    fmt = typed(data, "response_format", dict, {"type": "text"})
    if fmt.get("type", "text") != "text":
        raise bad("only the text response_format is supported", "response_format")
    if "model" in data and not isinstance(data["model"], str):
        raise bad("model must be a string", "model")


def _stops(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise bad("stop must be a string or a list of strings", "stop")
    if len(stops) > MAX_STOP_STRINGS:
        raise bad(f"at most {MAX_STOP_STRINGS} stop strings", "stop")
    return tuple(s for s in stops if s)


def _messages(value: Any, max_image_bytes: int) -> list[tuple[Role, str, tuple[bytes, ...]]]:
    if not isinstance(value, list) or not value:
        raise bad("messages must be a non-empty list", "messages")
    messages = []
    for i, item in enumerate(value):
        param = f"messages[{i}]"
        if not isinstance(item, dict):
            raise bad(f"{param} must be an object", param)
        role = _ROLES.get(str(item.get("role")))
        if role is None:
            raise bad(f"{param}.role must be one of {', '.join(_ROLES)}", f"{param}.role")
        text, images = _content(item.get("content"), f"{param}.content", max_image_bytes)
        if images and role != "user":
            raise bad(f"{param}: only user messages may carry pictures", param)
        messages.append((role, text, images))
    if messages[-1][0] != "user":
        raise bad("the last message must come from the user", "messages")
    return messages


def _content(value: Any, param: str, max_image_bytes: int) -> tuple[str, tuple[bytes, ...]]:
    """A string, or a list of text and image_url parts (audio is not understood)."""
    if isinstance(value, str):
        return value, ()
    if isinstance(value, list):
        texts, images = [], []
        for part in value:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "image_url" and isinstance(part, dict):
                if max_image_bytes <= 0:
                    raise bad(f"{param}: this model reads no pictures; send text only", param)
                images.append(image_bytes(part, param, max_image_bytes))
                continue
            if kind != "text" or not isinstance(part, dict):
                raise bad(f"{param}: only text and image_url parts are supported", param)
            text = part.get("text")
            if not isinstance(text, str):
                raise bad(f"{param}: a text part needs a string text", param)
            texts.append(text)
        return "".join(texts), tuple(images)
    raise bad(f"{param} must be a string or a list of text parts", param)


class Message(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def images(self) -> tuple[Any, ...]: ...  # encoded pictures (bytes)


class Sampling(Protocol):
    @property
    def greedy(self) -> bool: ...
    @property
    def temperature(self) -> float: ...
    @property
    def top_p(self) -> float: ...
    @property
    def top_k(self) -> int: ...
    @property
    def repetition_penalty(self) -> float: ...
    @property
    def seed(self) -> int | None: ...


class Options(Protocol):
    @property
    def max_new_tokens(self) -> int: ...
    @property
    def stop_strings(self) -> Sequence[str]: ...
    @property
    def sampling(self) -> Sampling | None: ...
    @property
    def enable_thinking(self) -> bool: ...


def request_body(
    model: str, messages: Sequence[Message], options: Options, extensions: bool
) -> dict[str, Any]:
    """A streaming chat completion request.  ``extensions`` adds top_k, repetition_penalty and
    ``chat_template_kwargs.enable_thinking`` (vLLM, SGLang and glasses serve understand them)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": m.role, "content": message_content(m.content, _encoded(m.images))}
            for m in messages
        ],
        "stream": True,
        "max_tokens": options.max_new_tokens,
    }
    if options.stop_strings:
        body["stop"] = list(options.stop_strings[:MAX_STOP_STRINGS])
    sampling = options.sampling
    if sampling is not None:  # None: the server applies the model's defaults
        body["temperature"] = 0 if sampling.greedy else sampling.temperature
        if not sampling.greedy and sampling.top_p < 1:
            body["top_p"] = sampling.top_p
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if extensions and not sampling.greedy and sampling.top_k:
            body["top_k"] = sampling.top_k
        if extensions and sampling.repetition_penalty != 1:
            body["repetition_penalty"] = sampling.repetition_penalty
    if extensions:
        # Qwen3 on vLLM thinks by default; the local engine does not unless asked.
        body["chat_template_kwargs"] = {"enable_thinking": options.enable_thinking}
    return body


def _encoded(images: tuple[Any, ...]) -> tuple[bytes, ...]:
    """Pictures as sent: encoded bytes only (a path or an array must be encoded first)."""
    if not all(isinstance(image, bytes | bytearray) for image in images):
        raise TypeError("pictures for a remote model must be encoded bytes (JPEG, PNG ...)")
    return tuple(bytes(image) for image in images)
