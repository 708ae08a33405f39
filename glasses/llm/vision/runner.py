"""The decoder pass of a vision-language model: the text runner with embeddings for inputs.

Token ids become ``inputs_embeds`` here: real ids as rows of the ``embed_tokens`` table
(:mod:`glasses.llm.vision.embedding`), image
tokens (virtual ids, see :mod:`glasses.llm.vision.mrope`) as rows of their image's features.
Positions are the M-RoPE ones of the whole sequence the cache holds plus the new tokens.
Everything else (KV cache, IO binding, logits buffer) is :class:`DecoderRunner`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from glasses.llm.graph_io import GraphIO
from glasses.llm.runner import DecoderRunner
from glasses.llm.vision.embedding import TokenEmbedding
from glasses.llm.vision.mrope import ROWS, MropeIndex
from glasses.llm.vision.run_options import generation_run_options

# image_no, run options -> that image's features [tokens, hidden] (encoded when first needed)
FeatureSource = Callable[[int, Any], npt.NDArray[np.float32]]


class VisionDecoderRunner(DecoderRunner):
    def __init__(
        self,
        session: Any,
        io: GraphIO,
        ort: Any,
        *,
        embedding: TokenEmbedding,
        hidden_size: int,
        features: FeatureSource,
        positions: MropeIndex,
        cached_ids: Callable[[], Sequence[int]],
        shrink_encoder_arena: bool = True,
    ) -> None:
        super().__init__(session, io, ort)
        self._embedding = embedding
        self._hidden = hidden_size
        self._features = features
        self._positions = positions
        self._cached_ids = cached_ids  # the tokens the KV cache holds (positions [0, length))
        self._shrink = shrink_encoder_arena

    def new_run_options(self) -> Any:
        """The generation's options, the vision encoder's beside them (run_options.py)."""
        return generation_run_options(self._ort, shrink_encoder_arena=self._shrink)

    def embed(self, token_ids: Sequence[int], run_options: Any) -> npt.NDArray[np.float32]:
        """``[1, n, hidden]`` embeddings of real and virtual ids."""
        ids = np.asarray(token_ids, dtype=np.int64)
        out = np.empty((len(ids), self._hidden), dtype=np.float32)
        text = ids >= 0
        if text.any():
            out[text] = self._embedding.lookup(ids[text], run_options)
        where = np.flatnonzero(~text)
        numbers, rows = np.divmod(-ids[where] - 1, ROWS)
        for image_no in np.unique(numbers):
            mine = numbers == image_no
            out[where[mine]] = self._features(int(image_no), run_options)[rows[mine]]
        return out[None]

    def _bind_inputs(
        self, binding: Any, token_ids: Sequence[int], past: int, run_options: Any
    ) -> None:
        total = past + len(token_ids)
        history = list(self._cached_ids()[:past])
        positions = self._positions.positions([*history, *token_ids])[:, past:total]
        self._bound: list[npt.NDArray[Any]] = [  # alive while bound
            self.embed(token_ids, run_options),
            np.ones((1, total), dtype=np.int64),
            np.ascontiguousarray(positions[:, None, :]),
        ]
        binding.bind_cpu_input("inputs_embeds", self._bound[0])
        binding.bind_cpu_input("attention_mask", self._bound[1])
        binding.bind_cpu_input("position_ids", self._bound[2])
