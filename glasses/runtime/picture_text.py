"""LOOK through a remote that reads pictures, with no local vision model behind it.

With ``remote.images`` on and a text-only local model, a LOOK's picture goes to the remote;
when the remote is down (or refuses), the router hands the picture to the local model, which
refuses it (:class:`TextOnlyModelError`). :class:`PictureTextFallback` then does what LOOK does
without any vision model: it reads the picture's text (OCR), asks the text model about that
text instead, and says so first, as the glasses say it on that path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, Final

import numpy as np

from glasses.errors import GlassesError
from glasses.llm.backend import ChatBackend
from glasses.llm.chat_template import ChatMessage
from glasses.llm.errors import TextOnlyModelError
from glasses.llm.generator import CancelToken, GenerationOptions
from glasses.modes.look import NO_VISION, VLM_HINT
from glasses.modes.prompts import camera_text
from glasses.runtime.vision_stages import TextReader

log = logging.getLogger(__name__)

NOTE: Final = f"({NO_VISION})\n"  # the first words of such an answer, as the no-vision path
_KEPT_READS: Final = 4  # pictures whose text is kept: a spoken question asks again about one


class PictureTextFallback:
    """A :class:`ChatBackend` over ``text``: a chat with pictures that ``text`` refuses as
    text-only is asked again with the text ``ocr`` reads in each picture in their place.
    ``text`` is named as a ``PictureRouter``'s is (the daemon's status tick probes it)."""

    accepts_images = True

    def __init__(self, text: ChatBackend, ocr: TextReader) -> None:
        self.text, self.ocr = text, ocr
        self._reads: dict[bytes, str] = {}  # picture bytes -> their text, newest last

    def __repr__(self) -> str:
        return f"PictureTextFallback({self.text!r})"

    @property
    def source(self) -> str:
        return self.text.source

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        cancel = cancel or CancelToken()
        if not any(m.images for m in messages):
            yield from self.text.stream_chat(messages, options, cancel)
            return
        try:  # the refusal comes before the local model's first word (a remote's: reset)
            yield from self.text.stream_chat(messages, options, cancel)
            return
        except TextOnlyModelError as exc:
            log.info("no model can look at the picture now (%s): reading its text", exc)
        as_text = [self._as_text(m) for m in messages]
        if cancel.cancelled:
            return
        yield NOTE
        yield from self.text.stream_chat(as_text, options, cancel)

    def _as_text(self, message: ChatMessage) -> ChatMessage:
        if not message.images:
            return message
        read = "\n".join(filter(None, (self._read(image) for image in message.images)))
        if not read:
            raise GlassesError(f"{NO_VISION}: no text found; {VLM_HINT}")
        return ChatMessage(message.role, f"{camera_text(read)}\n{message.content}")

    def _read(self, image: Any) -> str:
        key = image if isinstance(image, bytes) else None
        if key is not None and key in self._reads:
            return self._reads[key]
        from glasses.llm.vision.preprocess import decode_image

        rgb = np.asarray(decode_image(image))  # any picture the vision engine would take
        text = str(self.ocr.recognize(np.ascontiguousarray(rgb[:, :, ::-1])).text).strip()
        if key is not None:
            while len(self._reads) >= _KEPT_READS:
                del self._reads[next(iter(self._reads))]
            self._reads[key] = text
        return text
