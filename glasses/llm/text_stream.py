"""Generated tokens -> text the user may see.

:class:`Detokenizer`: byte-level BPE tokens are byte strings, and one Chinese character or
emoji is often spread over two or three tokens.  An incremental UTF-8 decoder holds back an
incomplete sequence until its last byte arrives and turns bytes that can never be valid into
U+FFFD, exactly like decoding the whole sequence at once.

:class:`StopMatcher`: text that might be the start of a stop string is held back until it is
clear either way, so the caller never shows characters that a stop string later swallows.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence

from glasses.llm.tokenizer import Tokenizer


class Detokenizer:
    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tk = tokenizer
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push(self, token_id: int) -> str:
        """Text completed by this token (possibly empty)."""
        return str(self._decoder.decode(self._tk.token_bytes(token_id)))

    def flush(self) -> str:
        """End of stream: an unfinished character becomes U+FFFD."""
        return str(self._decoder.decode(b"", final=True))


class StopMatcher:
    def __init__(self, stop_strings: Sequence[str]) -> None:
        self._stops = tuple(s for s in stop_strings if s)
        self._pending = ""
        self.stopped = False

    def push(self, text: str) -> str:
        """Add generated text; returns what is safe to emit.  Sets :attr:`stopped` on a match."""
        if self.stopped:
            return ""
        self._pending += text
        hits = [i for i in (self._pending.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self._pending = self._pending[: min(hits)], ""
            return out
        keep = self._held_back()
        out = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(out) :]
        return out

    def _held_back(self) -> int:
        """Length of the longest tail of the pending text that starts some stop string."""
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._pending)), longest, -1):
                if self._pending.endswith(stop[:size]):
                    longest = size
                    break
        return longest

    def flush(self) -> str:
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out
