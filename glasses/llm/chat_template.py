"""ChatML prompts (Qwen2 / Qwen2.5 / Qwen3) built directly as token ids.

Building ids instead of rendering the Jinja template keeps user text from ever turning into
control tokens, and makes the system-prompt prefix a token-exact prefix of every prompt that
uses it (what the prefix cache keys on).  Qwen3's non-thinking form ends the generation prompt
with an empty ``<think>\\n\\n</think>\\n\\n`` block, as its template does for
``enable_thinking=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from glasses.llm.errors import UnsupportedModelError
from glasses.llm.tokenizer import Tokenizer

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class ChatPrompt:
    prefix_ids: tuple[int, ...]  # the system turn: cacheable across requests
    ids: tuple[int, ...]  # the whole prompt, starting with prefix_ids


class ChatTemplate:
    def __init__(self, tokenizer: Tokenizer, tokenizer_config: dict[str, Any], arch: str) -> None:
        template = str(tokenizer_config.get("chat_template") or "")
        start, end = tokenizer.token_id("<|im_start|>"), tokenizer.token_id("<|im_end|>")
        if start is None or end is None or (template and "<|im_start|>" not in template):
            raise UnsupportedModelError("the model's chat template is not ChatML (<|im_start|>)")
        self._tk = tokenizer
        self.im_start_id, self.im_end_id = start, end
        # Qwen3 templates switch thinking with enable_thinking; older ones have no think block.
        self.has_thinking = "enable_thinking" in template or (not template and arch == "qwen3")
        self._newline = tokenizer.encode("\n")

    def _turn(self, role: str, content: str) -> list[int]:
        return [
            self.im_start_id,
            *self._tk.encode(f"{role}\n{content}"),
            self.im_end_id,
            *self._newline,
        ]

    def render(
        self,
        messages: Sequence[ChatMessage],
        *,
        enable_thinking: bool = False,
    ) -> ChatPrompt:
        if not messages or messages[-1].role != "user":
            raise ValueError("a chat prompt must end with a user message")
        prefix: list[int] = []
        rest = list(messages)
        if rest[0].role == "system":
            prefix = self._turn("system", rest.pop(0).content)
        ids = list(prefix)
        for message in rest:
            ids += self._turn(message.role, message.content)
        ids += [self.im_start_id, *self._tk.encode("assistant\n")]
        if self.has_thinking and not enable_thinking:
            ids += self._tk.encode("<think>\n\n</think>\n\n", allow_special=True)
        return ChatPrompt(tuple(prefix), tuple(ids))
