"""What the modes need from a language model, whichever serves it: the local engine, a remote
OpenAI-compatible endpoint, or a router that falls back from one to the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import CancelToken, GenerationOptions


class ChatBackend(Protocol):
    """Streams the assistant's reply to ``messages`` as text deltas.

    ``cancel`` stops generation within one token (local) or one network chunk (remote); the
    iterator then ends. Errors raise (a subclass of ``GlassesError``); they never look like an
    empty reply.
    """

    @property
    def source(self) -> str:
        """Which model serves: "local" or "remote" (shown on the status bar)."""
        ...

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]: ...


def accepts_images(backend: object) -> bool:
    """Whether ``backend`` (a :class:`ChatBackend`, or an engine) takes chats with pictures:
    those that do say so with a true ``accepts_images``."""
    return bool(getattr(backend, "accepts_images", False))


class LocalBackend:
    """The on-device engine as a :class:`ChatBackend`."""

    def __init__(self, engine: object) -> None:
        from glasses.llm.engine import LlmEngine

        if not isinstance(engine, LlmEngine):
            raise TypeError(f"expected an LlmEngine, got {type(engine).__name__}")
        self.engine = engine

    @property
    def source(self) -> str:
        return "local"

    @property
    def accepts_images(self) -> bool:
        """A vision-language engine (``glasses.llm.vision``) looks at pictures too."""
        return accepts_images(self.engine)

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        stream = self.engine.stream(messages, options, cancel)
        try:
            yield from stream
        finally:
            stream.close()
