"""Engine results in OpenAI's terms: finish reasons and token counts for
:mod:`glasses.openai_wire.response`'s shapes."""

from __future__ import annotations

from glasses.llm.generator import FinishReason, GenerationResult
from glasses.openai_wire import response

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
    return response.usage(prompt, len(result.token_ids))
