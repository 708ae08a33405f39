"""The JSON shapes of OpenAI's chat completion API, built from engine results."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from glasses.llm.generator import FinishReason, GenerationResult

# Our stop reasons -> OpenAI's: anything that cut the answer short by size or time is "length".
_FINISH: dict[FinishReason, str] = {
    "eos": "stop",
    "stop_string": "stop",
    "max_new_tokens": "length",
    "context_length": "length",
    "deadline": "length",
    "cancelled": "stop",
}


def finish_reason(reason: FinishReason) -> str:
    return _FINISH[reason]


def usage(result: GenerationResult) -> dict[str, int]:
    prompt = result.timings.prompt_tokens if result.timings else 0
    completion = len(result.token_ids)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


@dataclass(frozen=True)
class Completion:
    """Identity shared by every chunk of one completion."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{secrets.token_hex(12)}")
    created: int = field(default_factory=lambda: int(time.time()))

    def _head(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model}

    def whole(self, result: GenerationResult) -> dict[str, Any]:
        """The non-streaming answer."""
        return {
            **self._head("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "logprobs": None,
                    "finish_reason": finish_reason(result.finish_reason),
                }
            ],
            "usage": usage(result),
        }

    def chunk(self, delta: dict[str, str], reason: str | None = None) -> dict[str, Any]:
        """One ``chat.completion.chunk``: a text delta, or the closing one with a reason."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def usage_chunk(self, result: GenerationResult) -> dict[str, Any]:
        """The extra last chunk of ``stream_options.include_usage``: no choices, the counts."""
        return {**self._head("chat.completion.chunk"), "choices": [], "usage": usage(result)}


def model_list(model_id: str, created: int) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": model_id, "object": "model", "created": created, "owned_by": "glasses"}],
    }
