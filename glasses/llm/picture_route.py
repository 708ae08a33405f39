"""Which backend looks at pictures: chats with pictures go to a vision-language model, the
rest to the text model.

The daemon may run a small text model (quick captions and translations) next to a bigger
vision-language one (LOOK), or a remote server that reads no pictures in front of a local one
that does. :func:`accepts_images` tells the modes whether LOOK can show the model a picture
at all (else it reads the picture's text and asks the text model).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from glasses.llm.backend import ChatBackend, accepts_images
from glasses.llm.chat_template import ChatMessage
from glasses.llm.generator import CancelToken, GenerationOptions


class PictureRouter:
    """A :class:`ChatBackend`: chats with pictures to ``vision``, the others to ``text``."""

    accepts_images = True

    def __init__(self, text: ChatBackend, vision: ChatBackend) -> None:
        if not accepts_images(vision):
            raise ValueError(f"{vision!r} does not take pictures")
        self.text, self.vision = text, vision
        self._last = text

    def __repr__(self) -> str:
        return f"PictureRouter(text={self.text!r}, vision={self.vision!r})"

    @property
    def source(self) -> str:
        """The source of the backend that served (or serves) the latest request."""
        return self._last.source

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        self._last = self.vision if any(m.images for m in messages) else self.text
        return self._last.stream_chat(messages, options, cancel)


__all__ = ["PictureRouter", "accepts_images"]
