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
        # Steps write their [1, 1, vocab] logits into one numpy-backed OrtValue, so a token
        # costs no allocation and no copy of the 151,936 scores.  A graph that scores only the
        # last position does so for prompt chunks too.
        self._step_logits = np.zeros((1, 1, io.logits_size), dtype=io.logits_dtype)
        self._step_logits_value = ort.OrtValue.ortvalue_from_numpy(self._step_logits)
        # A shared-buffer cache binds the same KV buffers every step: keep the binding and
        # rebind only the token inputs (saves ~4 binding calls per layer per token).
        self._binding: Any = None
        self._binding_version = 0  # SharedBufferKv.version the binding was made for
        self._inputs: list[npt.NDArray[np.int64]] = []  # alive while bound

    def new_cache(self, capacity: int) -> KvCache:
        if self.io.share_buffer:
            return SharedBufferKv(self.io, self._ort, capacity)
        return GrowingKv(self.io, self._ort)

    def new_run_options(self) -> Any:
        return self._ort.RunOptions()

    def _kv_binding(self, kv: KvCache, single: bool) -> tuple[Any, int]:
        """An IO binding with the KV tensors (and logits, when they go to the step buffer)
        bound; returns it and the number of present outputs ONNX Runtime allocates."""
        to_step_buffer = single or self.io.last_position_logits
        if isinstance(kv, SharedBufferKv) and to_step_buffer:
            if self._binding is None or self._binding_version != kv.version:
                self._binding = self._session.io_binding()
                self._binding.bind_ortvalue_output("logits", self._step_logits_value)
                kv.bind(self._binding)
                self._binding_version = kv.version
            return self._binding, 0
        binding = self._session.io_binding()
        if to_step_buffer:
            binding.bind_ortvalue_output("logits", self._step_logits_value)
        else:
            binding.bind_output("logits", "cpu")
        present_names = kv.bind(binding)
        return binding, 0 if isinstance(kv, SharedBufferKv) else len(present_names)

    def _bind_inputs(
        self, binding: Any, token_ids: Sequence[int], past: int, run_options: Any
    ) -> None:
        """Bind the inputs other than the KV cache for ``token_ids`` after ``past`` cached ones
        (a vision-language decoder binds embeddings and 3-D positions instead)."""
        del run_options  # the vision runner encodes images under the generation's run options
        total = past + len(token_ids)
        self._inputs = [
            np.asarray([token_ids], dtype=np.int64),
            # Every cached position is a real token (batch of one, no padding).
            np.ones((1, total), dtype=np.int64),
        ]
        binding.bind_cpu_input("input_ids", self._inputs[0])
        binding.bind_cpu_input("attention_mask", self._inputs[1])
        if self.io.has_position_ids:
            self._inputs.append(np.arange(past, total, dtype=np.int64)[None, :])
            binding.bind_cpu_input("position_ids", self._inputs[2])

    def forward(
        self, token_ids: Sequence[int], kv: KvCache, run_options: Any, *, want_logits: bool = True
    ) -> npt.NDArray[np.float32] | None:
        """Run ``token_ids`` after the cached ones; returns the last position's logits (None
        when not wanted: inner prompt chunks).  The cache advances only when the run succeeds,
        so a cancelled run leaves it intact."""
        past = kv.length
        total = past + len(token_ids)
        kv.reserve(total)
        single = len(token_ids) == 1
        binding, allocated_presents = self._kv_binding(kv, single)
        self._bind_inputs(binding, token_ids, past, run_options)
        self._session.run_with_iobinding(binding, run_options)
        to_step_buffer = single or self.io.last_position_logits
        outputs = binding.get_outputs() if allocated_presents or not to_step_buffer else []
        kv.update(list(outputs[1 : 1 + allocated_presents]), total)
        if not want_logits:
            return None
        last = self._step_logits[0, -1] if to_step_buffer else outputs[0].numpy()[0, -1]
        # A copy: the step buffer is overwritten by the next token.
        scores: npt.NDArray[np.float32] = np.array(last, dtype=np.float32)
        return scores
