"""The model's ``tokenizer.json`` through Hugging Face ``tokenizers``, plus the byte table that
incremental detokenisation needs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from glasses.extras import require
from glasses.llm.errors import CorruptModelError, ModelFileError, UnsupportedModelError


def _unicode_to_latin1() -> dict[int, int]:
    """``str.translate`` table undoing byte-level BPE's byte -> printable character mapping
    (GPT-2 / Qwen / Llama 3): after it, ``.encode("latin-1")`` yields the token's bytes."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            table[256 + extra] = b
            extra += 1
    return table


class Tokenizer:
    """Encoding, special-token ids and per-token bytes of a byte-level BPE tokenizer."""

    def __init__(self, path: Path) -> None:
        tokenizers = require("tokenizers", "llm", purpose="the local LLM engine")
        if not path.is_file():
            raise ModelFileError(f"{path} is missing")
        try:
            self._tk: Any = tokenizers.Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a plain Exception for bad JSON
            raise CorruptModelError(f"{path} is not a valid tokenizer.json: {exc}") from exc
        if not isinstance(self._tk.decoder, tokenizers.decoders.ByteLevel):
            raise UnsupportedModelError(
                f"{path} is not a byte-level BPE tokenizer (Qwen-style); cannot stream its text"
            )
        self.vocab_size: int = self._tk.get_vocab_size(with_added_tokens=True)
        added = self._tk.get_added_tokens_decoder()
        self.special_ids = frozenset(i for i, tok in added.items() if tok.special)
        # Control tokens by text (<|im_start|> ...): what user text must never turn into.
        self.special_tokens = {str(tok.content): int(i) for i, tok in added.items() if tok.special}
        self._token_bytes = self._byte_table(added)
        self._encode_lock = threading.Lock()  # encode() flips a tokenizer-wide flag

    def _byte_table(self, added: dict[int, Any]) -> list[bytes]:
        to_latin1 = _unicode_to_latin1()
        table: list[bytes] = [b""] * self.vocab_size
        for token, token_id in self._tk.get_vocab(with_added_tokens=False).items():
            table[token_id] = token.translate(to_latin1).encode("latin-1")
        for token_id, tok in added.items():
            # Special tokens (<|im_end|>, ...) are control, not text; <think> etc. are text.
            table[token_id] = b"" if tok.special else tok.content.encode("utf-8")
        return table

    def token_id(self, text: str) -> int | None:
        token_id = self._tk.token_to_id(text)
        return None if token_id is None else int(token_id)

    def encode(self, text: str, *, allow_special: bool = False) -> list[int]:
        """Token ids of ``text``; with ``allow_special=False`` a literal "<|im_end|>" typed by the
        user stays text instead of becoming a control token (no prompt injection)."""
        with self._encode_lock:
            self._tk.encode_special_tokens = not allow_special
            try:
                return list(self._tk.encode(text, add_special_tokens=False).ids)
            finally:
                self._tk.encode_special_tokens = False

    def decode(self, ids: list[int]) -> str:
        return str(self._tk.decode(ids, skip_special_tokens=True))

    def token_bytes(self, token_id: int) -> bytes:
        """UTF-8 bytes this token adds to the text (maybe half a character); b"" for control or
        ids beyond the tokenizer's vocabulary."""
        return self._token_bytes[token_id] if 0 <= token_id < self.vocab_size else b""
