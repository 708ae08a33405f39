"""Chat prompts rendered by the model's own Jinja chat template, as ``transformers`` renders them.

The template is read the way ``transformers`` reads it: ``chat_template.jinja`` in the model
folder when present, else the ``chat_template`` field of ``tokenizer_config.json`` (a string, or a
list of named templates of which "default" is used).  It is rendered in a sandboxed Jinja
environment with ``transformers``' settings (``trim_blocks``, ``lstrip_blocks``, the
``loopcontrols`` extension, ``raise_exception`` and ``strftime_now``, a ``tojson`` that does not
HTML-escape), with ``messages``, ``add_generation_prompt=True``, ``enable_thinking`` (Qwen3's
switch), ``tools=None`` and the tokenizer config's special tokens (``bos_token``, ``eos_token``
...).  So Qwen2.5's default system prompt appears when no system turn is given, and Qwen3's
non-thinking form ends with an empty ``<think>\\n\\n</think>\\n\\n`` block: token for token what
``tokenizer.apply_chat_template(..., tokenize=True, add_generation_prompt=True)`` gives.

One deliberate difference: control tokens (``<|im_end|>`` ...) typed inside a message stay text.
Before rendering, every control token's text in a message is swapped for a random placeholder;
the rendered text is then cut at the control tokens the template itself wrote, each piece is
encoded with control-token matching off (placeholders restored first), and the template's
control tokens are inserted by id.  ``tokenizers`` cuts text at added tokens the same way before
encoding the pieces, so prompts without such text get exactly ``transformers``' ids.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from glasses.extras import require
from glasses.llm.errors import CorruptModelError, ModelFileError, UnsupportedModelError
from glasses.llm.tokenizer import Tokenizer

if TYPE_CHECKING:
    from glasses.models.llm_folder import ModelFolder

Role = Literal["system", "user", "assistant"]

TEMPLATE_FILE = "chat_template.jinja"
# What transformers hands every template besides the messages (those the config sets).
SPECIAL_TOKEN_KEYS = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str
    # Pictures shown with the text (vision-language models only; a text model refuses them):
    # file paths, encoded bytes (JPEG, PNG ...), PIL images or H x W x 3 uint8 RGB arrays.
    # They come before the text, as in Qwen's examples.
    images: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ChatPrompt:
    prefix_ids: tuple[int, ...]  # the system turn: cacheable across requests
    ids: tuple[int, ...]  # the whole prompt, starting with prefix_ids
    # Vision-language prompts: the pictures (glasses.llm.vision.PreparedImage), in order; their
    # tokens in ``ids`` are negative virtual ids (glasses.llm.vision.mrope).
    images: tuple[Any, ...] = ()


def read_chat_template(root: Path, tokenizer_config: dict[str, Any]) -> str:
    """The model's chat template source, found where ``transformers`` looks for it."""
    path = root / TEMPLATE_FILE
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptModelError(f"{path} cannot be read: {exc}") from exc
    value = tokenizer_config.get("chat_template")
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list):
        named = {t.get("name"): t.get("template") for t in value if isinstance(t, dict)}
        default = named.get("default")
        if isinstance(default, str) and default:
            return default
        raise UnsupportedModelError(
            f"{root}/tokenizer_config.json has chat templates named "
            f"{', '.join(sorted(str(n) for n in named))} but none called 'default'"
        )
    raise ModelFileError(
        f"{root} has no chat template: looked for {TEMPLATE_FILE} and the 'chat_template' "
        "field of tokenizer_config.json (every Qwen release has one; copy them from the model)"
    )


def _token_text(value: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken dict."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def template_variables(tokenizer_config: dict[str, Any]) -> dict[str, Any]:
    """The special-token variables ``transformers`` passes (``special_tokens_map``)."""
    out: dict[str, Any] = {}
    for key in SPECIAL_TOKEN_KEYS:
        text = _token_text(tokenizer_config.get(key))
        if text is not None:
            out[key] = text
    extra = tokenizer_config.get("additional_special_tokens")
    if isinstance(extra, list):
        out["additional_special_tokens"] = [t for t in map(_token_text, extra) if t is not None]
    return out


def compile_template(source: str) -> Any:
    """``source`` compiled in a sandbox configured as ``transformers`` configures its own."""
    jinja2 = require("jinja2", "llm", purpose="the model's chat template")
    sandbox = require("jinja2.sandbox", "llm", purpose="the model's chat template")
    ext = require("jinja2.ext", "llm", purpose="the model's chat template")

    class Generation(ext.Extension):  # type: ignore[misc, name-defined]
        """``{% generation %}...{% endgeneration %}`` (marks assistant text for training
        masks in transformers): renders its body unchanged."""

        tags: ClassVar[set[str]] = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            call = self.call_method("_body")
            return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return str(caller())

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(
        value: Any,
        ensure_ascii: bool = False,
        indent: int | None = None,
        separators: tuple[str, str] | None = None,
        sort_keys: bool = False,
    ) -> str:
        return json.dumps(
            value,
            ensure_ascii=ensure_ascii,
            indent=indent,
            separators=separators,
            sort_keys=sort_keys,
        )

    def strftime_now(fmt: str) -> str:
        return datetime.now().strftime(fmt)

    env = sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise CorruptModelError(f"the model's chat template is not valid Jinja: {exc}") from exc


def _content(message: ChatMessage, protect: Any) -> Any:
    """A message's content as templates take it: a string, or with pictures the list form
    (``{"type": "image"}`` parts, then the text) that vision-language templates render."""
    text = protect(message.content)
    if not message.images:
        return text
    return [*({"type": "image"} for _ in message.images), {"type": "text", "text": text}]


class ChatTemplate:
    """Renders chats with the model's template and encodes them to prompt ids."""

    def __init__(
        self, tokenizer: Tokenizer, source: str, tokenizer_config: dict[str, Any] | None = None
    ) -> None:
        start, end = tokenizer.token_id("<|im_start|>"), tokenizer.token_id("<|im_end|>")
        if start is None or end is None or "<|im_start|>" not in source:
            raise UnsupportedModelError("the model's chat template is not ChatML (<|im_start|>)")
        self._tk = tokenizer
        self.im_start_id, self.im_end_id = start, end
        self.source = source
        self.has_thinking = "enable_thinking" in source  # Qwen3's switch
        self._template = compile_template(source)
        self._variables = template_variables(tokenizer_config or {})
        # Control tokens, longest first so that no token is cut at a shorter one it contains.
        specials = sorted(tokenizer.special_tokens, key=len, reverse=True)
        self._special_re = re.compile("|".join(map(re.escape, specials)) or "(?!)")
        # Placeholders for control-token text inside messages: digits only, so that no filter
        # a template may apply (upper, title, strip) changes them.
        nonce = secrets.randbelow(10**16)
        self._placeholder = f"\ue000{nonce:016d}:{{}}\ue001"
        self._placeholder_re = re.compile(f"\ue000{nonce:016d}:(\\d+)\ue001")

    @classmethod
    def from_folder(cls, tokenizer: Tokenizer, folder: ModelFolder) -> ChatTemplate:
        source = read_chat_template(folder.root, folder.tokenizer_config)
        return cls(tokenizer, source, folder.tokenizer_config)

    def render_text(self, messages: Sequence[ChatMessage], *, enable_thinking: bool = False) -> str:
        """The prompt as text, exactly as ``apply_chat_template(tokenize=False)`` renders it."""
        return self._render(messages, enable_thinking, lambda text: text)

    def _render(self, messages: Sequence[ChatMessage], enable_thinking: bool, protect: Any) -> str:
        if not messages or messages[-1].role != "user":
            raise ValueError("a chat prompt must end with a user message")
        jinja2 = require("jinja2", "llm", purpose="the model's chat template")
        chat = [{"role": m.role, "content": _content(m, protect)} for m in messages]
        try:
            return str(
                self._template.render(
                    **self._variables,
                    messages=chat,
                    tools=None,
                    documents=None,
                    add_generation_prompt=True,
                    enable_thinking=enable_thinking,
                )
            )
        except jinja2.TemplateError as exc:
            raise UnsupportedModelError(f"the model's chat template failed: {exc}") from exc

    def render(
        self,
        messages: Sequence[ChatMessage],
        *,
        enable_thinking: bool = False,
    ) -> ChatPrompt:
        hidden: list[str] = []

        def protect(text: str) -> str:
            def swap(match: re.Match[str]) -> str:
                hidden.append(match.group(0))
                return self._placeholder.format(len(hidden) - 1)

            return self._special_re.sub(swap, text)

        def restore(text: str) -> str:
            return self._placeholder_re.sub(lambda m: hidden[int(m.group(1))], text)

        text = self._render(messages, enable_thinking, protect)
        ids: list[int] = []
        prefix_end = 0  # after the first turn's "<|im_end|>\n"
        previous: int | None = None  # the control token before this piece
        pos = 0
        for match in self._special_re.finditer(text):
            piece = text[pos : match.start()]
            if piece:
                ids += self._tk.encode(restore(piece))
            if previous == self.im_end_id and piece == "\n" and not prefix_end:
                prefix_end = len(ids)
            previous = self._tk.token_id(match.group(0))
            assert previous is not None  # the pattern holds only the tokenizer's tokens
            ids.append(previous)
            pos = match.end()
        if pos < len(text):
            ids += self._tk.encode(restore(text[pos:]))
        # The system turn (the model's default one included) is the prefix the cache may keep.
        is_system = text.startswith("<|im_start|>system\n")
        return ChatPrompt(tuple(ids[:prefix_end]) if is_system else (), tuple(ids))
