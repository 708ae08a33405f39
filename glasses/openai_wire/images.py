"""Pictures in chat messages: OpenAI's ``image_url`` content parts, carrying ``data:`` URLs.

A client sends each picture inline, as vLLM and OpenAI take it::

    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ..."}}

A server (:func:`image_bytes`) takes only ``data:`` URLs: an ``http(s)`` URL is refused, never
fetched (a request must not make the server reach other hosts on its behalf), and so is base64
that does not decode strictly or a picture over the size limit. Whether the bytes are a picture
is for the server to check (decoding needs Pillow); this module stays plain.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

from glasses.openai_wire.errors import bad

_DATA_URL: Final = re.compile(r"data:(image/[A-Za-z0-9.+-]+)?;base64,", re.ASCII)
_SIGNATURES: Final = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


def mime_type(data: bytes) -> str:
    """The picture's MIME type from its first bytes (JPEG when unknown: what cameras give)."""
    return next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), "image/jpeg")


def image_part(data: bytes) -> dict[str, Any]:
    """``data`` (an encoded picture) as an ``image_url`` content part with a data: URL."""
    encoded = base64.b64encode(data).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{mime_type(data)};base64,{encoded}"}}


def message_content(text: str, images: tuple[bytes, ...]) -> str | list[dict[str, Any]]:
    """A message's ``content``: the text alone, or the pictures first, then the text (the
    order Qwen's examples use and glasses' engine renders)."""
    if not images:
        return text
    return [*(image_part(bytes(image)) for image in images), {"type": "text", "text": text}]


def image_bytes(part: dict[str, Any], param: str, max_bytes: int) -> bytes:
    """The picture of an ``image_url`` part, or :class:`ApiError` (400) naming what is wrong."""
    inner = part.get("image_url")
    url = inner.get("url") if isinstance(inner, dict) else inner
    if not isinstance(url, str):
        raise bad(f'{param}: an image_url part needs {{"url": "data:image/...;base64,..."}}', param)
    if re.match(r"(?i)\s*https?:", url):
        raise bad(
            f"{param}: image URLs are not fetched; send the picture inline as a "
            "data:image/jpeg;base64,... URL",
            param,
        )
    head = _DATA_URL.match(url)
    if head is None:
        raise bad(f"{param}: the image url must be a data:image/...;base64,... URL", param)
    payload = url[head.end() :]
    if len(payload) > (max_bytes + 2) // 3 * 4:  # before decoding: base64 is 4/3 the size
        raise bad(f"{param}: the picture is over {max_bytes} bytes", param)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad(f"{param}: the picture's base64 does not decode: {exc}", param) from None
    if not data:
        raise bad(f"{param}: the picture is empty", param)
    return data
