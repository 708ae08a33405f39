"""The JSON shapes of OpenAI's chat completion answers, as a server builds them.

Plain values in (text, OpenAI's finish reason, token counts): the server maps its engine's
results to them.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


@dataclass(frozen=True)
class Completion:
    """Identity shared by every chunk of one completion."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{secrets.token_hex(12)}")
    created: int = field(default_factory=lambda: int(time.time()))

    def _head(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model}

    def whole(self, text: str, reason: str, counts: dict[str, int]) -> dict[str, Any]:
        """The non-streaming answer; ``counts`` as :func:`usage` makes them."""
        return {
            **self._head("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": reason,
                }
            ],
            "usage": counts,
        }

    def chunk(self, delta: dict[str, str], reason: str | None = None) -> dict[str, Any]:
        """One ``chat.completion.chunk``: a text delta, or the closing one with a reason."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def usage_chunk(self, counts: dict[str, int]) -> dict[str, Any]:
        """The extra last chunk of ``stream_options.include_usage``: no choices, the counts."""
        return {**self._head("chat.completion.chunk"), "choices": [], "usage": counts}


def model_list(model_id: str, created: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": model_id, "object": "model", "created": created, "owned_by": "glasses"}],
    }
