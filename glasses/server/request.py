"""A ``POST /v1/chat/completions`` body -> engine messages and options, or a clear 400.

Fields the OpenAI client sends by default are understood; unknown fields are ignored (clients
add new ones all the time); known features the engine lacks (tools, n > 1, logprobs, penalties)
are refused rather than silently dropped.  When neither ``temperature`` nor ``top_p`` is given
the model's own generation_config defaults apply, as vLLM does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from glasses.llm.chat_template import ChatMessage, Role
from glasses.llm.generator import GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.server.config import ServerConfig

_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
}
MAX_STOP_STRINGS = 4  # OpenAI's limit
MAX_SEED = 2**63  # seeds are 0 <= seed < 2**63 (a signed 64-bit integer's range, non-negative)
MAX_TOP_K = 2**31 - 1
_JSON_NAMES = {bool: "boolean", int: "integer", float: "number", dict: "object", str: "string"}


class ApiError(Exception):
    """An HTTP error answered with OpenAI's error body ``{"error": {...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = (
            status,
            message,
            kind,
            param,
            code,
        )

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


def bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[ChatMessage, ...]
    options: GenerationOptions
    stream: bool
    include_usage: bool  # stream_options.include_usage: a last chunk with token counts


def parse_chat_request(body: bytes, defaults: SamplingConfig, config: ServerConfig) -> ChatRequest:
    data = parse_json(body)
    if not isinstance(data, dict):
        raise bad("the request body must be a JSON object")
    _refuse_unsupported(data)
    stream = _typed(data, "stream", bool, False)
    stream_options = _typed(data, "stream_options", dict, {})
    max_tokens = _typed(data, "max_completion_tokens", int, None)
    if max_tokens is None:
        max_tokens = _typed(data, "max_tokens", int, config.default_max_tokens)
    if not 1 <= max_tokens <= config.max_tokens_limit:
        raise bad(f"max_tokens must be 1..{config.max_tokens_limit}", "max_tokens")
    kwargs = _typed(data, "chat_template_kwargs", dict, {})
    options = GenerationOptions(
        max_new_tokens=max_tokens,
        sampling=_sampling(data, defaults),
        stop_strings=_stops(data.get("stop")),
        timeout_s=config.max_generation_s,
        enable_thinking=_typed(kwargs, "enable_thinking", bool, False),
    )
    return ChatRequest(
        messages=_messages(data.get("messages")),
        options=options,
        stream=stream,
        include_usage=bool(stream and _typed(stream_options, "include_usage", bool, False)),
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(body: bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused (Python's json reads them by default), and so
    is nesting too deep for the parser or an integer too long to convert (400, not a crash)."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise bad("the request body is not valid JSON: it is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit, NaN
        raise bad(f"the request body is not valid JSON: {exc}") from None


def _typed(data: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    # JSON true is a Python int too: keep booleans out of numeric fields and vice versa.
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        raise bad(f"{key} must be a JSON {_JSON_NAMES.get(kind, kind.__name__)}", key)
    return value


def _refuse_unsupported(data: dict[str, Any]) -> None:
    if _typed(data, "n", int, 1) != 1:
        raise bad("only n=1 is supported", "n")
    if data.get("tools") or data.get("functions"):
        raise bad("tool and function calling are not supported", "tools")
    if data.get("logprobs"):
        raise bad("logprobs are not supported", "logprobs")
    for key in ("frequency_penalty", "presence_penalty"):
        if _real(data, key, -2.0, 2.0) not in (None, 0):
            raise bad(f"{key} is not supported (use repetition_penalty)", key)
    fmt = _typed(data, "response_format", dict, {"type": "text"})
    if fmt.get("type", "text") != "text":
        raise bad("only the text response_format is supported", "response_format")
    if "model" in data and not isinstance(data["model"], str):
        raise bad("model must be a string", "model")


def _real(
    data: dict[str, Any], key: str, low: float, high: float, *, low_open: bool = False
) -> float | None:
    """A finite number in ``[low, high]`` (``(low, high]`` when ``low_open``), or None."""
    value = _typed(data, key, float, None)
    if value is None:
        return None
    # Python ints compare exactly at any size; float() of a huge one would overflow.
    ok = isinstance(value, int) or math.isfinite(value)
    if not (ok and (low < value if low_open else low <= value) and value <= high):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if math.isinf(high) else ']'}"
        raise bad(f"{key} must be a finite number in {interval}, got {value!r:.40}", key)
    return float(value)


def _integer(data: dict[str, Any], key: str, low: int, high: int) -> int | None:
    """An integer in ``[low, high]``, or None."""
    value = _typed(data, key, int, None)
    if value is not None and not low <= value <= high:
        raise bad(f"{key} must be an integer in [{low}, {high}]", key)
    return None if value is None else int(value)


def _sampling(data: dict[str, Any], defaults: SamplingConfig) -> SamplingConfig:
    changes: dict[str, Any] = {}
    temperature = _real(data, "temperature", 0.0, 2.0)
    if temperature is not None:
        # OpenAI's temperature 0 means "as deterministic as possible": argmax.
        changes.update(greedy=temperature == 0, temperature=temperature or 1.0)
    top_p = _real(data, "top_p", 0.0, 1.0, low_open=True)
    if top_p is not None:
        changes["top_p"] = top_p
    top_k = _integer(data, "top_k", -1, MAX_TOP_K)  # vLLM extension; -1 or 0 = off
    if top_k is not None:
        changes["top_k"] = max(top_k, 0)
    penalty = _real(data, "repetition_penalty", 0.0, math.inf, low_open=True)  # vLLM extension
    if penalty is not None:
        changes["repetition_penalty"] = penalty
    if "seed" in data:
        changes["seed"] = _integer(data, "seed", 0, MAX_SEED - 1)
    return replace(defaults, **changes) if changes else defaults


def _stops(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise bad("stop must be a string or a list of strings", "stop")
    if len(stops) > MAX_STOP_STRINGS:
        raise bad(f"at most {MAX_STOP_STRINGS} stop strings", "stop")
    return tuple(s for s in stops if s)


def _messages(value: Any) -> tuple[ChatMessage, ...]:
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
        messages.append(ChatMessage(role, _content(item.get("content"), f"{param}.content")))
    if messages[-1].role != "user":
        raise bad("the last message must come from the user", "messages")
    return tuple(messages)


def _content(value: Any, param: str) -> str:
    """A string, or a list of text parts (images and audio are not understood)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = []
        for part in value:
            if not (isinstance(part, dict) and part.get("type") == "text"):
                raise bad(f"{param}: only text parts are supported", param)
            text = part.get("text")
            if not isinstance(text, str):
                raise bad(f"{param}: a text part needs a string text", param)
            texts.append(text)
        return "".join(texts)
    raise bad(f"{param} must be a string or a list of text parts", param)
