"""One decoder forward pass over a chunk of tokens, with IO binding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from glasses.llm.graph_io import GraphIO
from glasses.llm.kv_cache import GrowingKv, KvCache, SharedBufferKv


class DecoderRunner:
    def __init__(self, session: Any, io: GraphIO, ort: Any) -> None:
        self._session = session
        self.io = io
        self._ort = ort
        # Decode steps write their [1, 1, vocab] logits into one numpy-backed OrtValue, so a
        # token costs no allocation and no copy of the 151,936 scores.
        self._step_logits = np.zeros((1, 1, io.logits_size), dtype=io.logits_dtype)
        self._step_logits_value = ort.OrtValue.ortvalue_from_numpy(self._step_logits)

    def new_cache(self, capacity: int) -> KvCache:
        if self.io.share_buffer:
            return SharedBufferKv(self.io, self._ort, capacity)
        return GrowingKv(self.io, self._ort)

    def new_run_options(self) -> Any:
        return self._ort.RunOptions()

    def forward(
        self, token_ids: Sequence[int], kv: KvCache, run_options: Any, *, want_logits: bool = True
    ) -> npt.NDArray[np.float32] | None:
        """Run ``token_ids`` after the cached ones; returns the last position's logits (None
        when not wanted: inner prompt chunks).  The cache advances only when the run succeeds,
        so a cancelled run leaves it intact."""
        past = kv.length
        total = past + len(token_ids)
        binding = self._session.io_binding()
        binding.bind_cpu_input("input_ids", np.asarray([token_ids], dtype=np.int64))
        # Every cached position is a real token (batch of one, no padding).
        binding.bind_cpu_input("attention_mask", np.ones((1, total), dtype=np.int64))
        if self.io.has_position_ids:
            positions = np.arange(past, total, dtype=np.int64)[None, :]
            binding.bind_cpu_input("position_ids", positions)
        single = len(token_ids) == 1
        if single:
            binding.bind_ortvalue_output("logits", self._step_logits_value)
        else:
            binding.bind_output("logits", "cpu")
        present_names = kv.bind(binding)
        self._session.run_with_iobinding(binding, run_options)
        outputs = binding.get_outputs()
        kv.update(list(outputs[1 : 1 + len(present_names)]), total)
        if not want_logits:
            return None
        last = self._step_logits[0, -1] if single else outputs[0].numpy()[0, -1]
        # A copy: the step buffer is overwritten by the next token.
        scores: npt.NDArray[np.float32] = np.array(last, dtype=np.float32)
        return scores
