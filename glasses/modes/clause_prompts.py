"""The prompt for one clause, laid out so the engine's prefix cache reuses the utterance so far.

Clause ``k`` of an utterance is sent with clauses ``1..k-1`` before it, one per line, inside the
usual ``<data>`` block (``glasses.modes.prompts``): the system prompt is a constant, and the
lines only ever grow at the end. So the prompt of clause ``k+1`` starts with every token of the
prompt of clause ``k`` up to the end of its last line, and the engine (which keeps the longest
cached token prefix) computes only the new line and the few fixed tokens after it: a clause
costs its own tokens in prefill, however long the utterance already is. A tentative
re-translation of the tail uses the same layout, so it reuses the same prefix, and so does the
next clause after it. Earlier translations are not in the prompt on purpose: Qwen3's chat
template renders earlier assistant turns differently from how they were generated, which
would break the shared prefix at every turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from glasses.llm.chat_template import ChatMessage
from glasses.modes.prompts import _DATA_RULE, _PLAIN, fence, language_name

CLAUSE_SYSTEM: Final = (
    "You translate speech for live captions on smart glasses with a tiny screen, one clause at "
    "a time. The speech arrives one clause per line; earlier lines are already translated and "
    "are there for context only. Reply with the translation of the last line only, as short as "
    f"the meaning allows. {_PLAIN} {_DATA_RULE}"
)


def clause_messages(
    context: Sequence[str], clause: str, source_lang: str, target_lang: str
) -> tuple[ChatMessage, ...]:
    """The chat for translating ``clause``, after the earlier clauses ``context``."""
    lines = [line.strip() for line in (*context, clause) if line.strip()]
    source = f" from {language_name(source_lang)}" if source_lang else ""
    task = f"Translate the last line of the speech above{source} into {language_name(target_lang)}."
    data = fence("\n".join(lines), "speech")
    return (ChatMessage("system", CLAUSE_SYSTEM), ChatMessage("user", f"{data}\n{task}"))
