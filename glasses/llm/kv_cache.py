"""KV cache state between decoder steps, kept in ``OrtValue``s (never copied through numpy).

* :class:`GrowingKv` (Optimum layout): each step's ``present`` tensors (past + new tokens) are
  fed back as the next step's ``past``.  ORT never writes into inputs, so a snapshot is just the
  list of references, and the system-prompt prefix can be shared by any number of requests;
  ``truncate`` slices them (a copy of what is kept).
* :class:`SharedBufferKv` (genai ``past_present_share_buffer``): one ``[1, kv_heads, size,
  head_dim]`` buffer per tensor is bound as both past input and present output;
  GroupQueryAttention writes the new tokens at ``[length, length + n)`` in place.  Positions
  below ``length`` are never rewritten, so ``truncate`` to the prefix the next request shares
  is free: the positions after it are masked, then overwritten.  The buffers start small and
  grow (copying what they hold) up to ``capacity`` as requests need more positions: a short
  chat never pays for the whole context.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasses.llm.graph_io import GraphIO

# Identifies one set of shared buffers, unique across caches: a binding made for it is reusable.
_BUFFER_SETS = itertools.count(1)


@dataclass(frozen=True)
class KvSnapshot:
    length: int
    values: tuple[Any, ...]  # OrtValues (GrowingKv) or () (SharedBufferKv)


class GrowingKv:
    shares_storage = False

    def __init__(self, io: GraphIO, ort: Any) -> None:
        self._io = io
        self._ort = ort
        empty = np.zeros((1, io.num_kv_heads, 0, io.head_dim), dtype=io.kv_dtype)
        self._empty = tuple(
            ort.OrtValue.ortvalue_from_numpy(empty) for _ in range(2 * io.num_layers)
        )
        self.length = 0
        self._values: tuple[Any, ...] = self._empty

    def reset(self) -> None:
        self.length, self._values = 0, self._empty

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` positions (new, sliced tensors: ORT's are read-only)."""
        if length <= 0:
            self.reset()
        elif length < self.length:
            self._values = tuple(
                self._ort.OrtValue.ortvalue_from_numpy(
                    np.ascontiguousarray(value.numpy()[:, :, :length])
                )
                for value in self._values
            )
            self.length = length

    def reserve(self, positions: int) -> None:
        del positions  # presents are allocated by ONNX Runtime at their exact size

    def bind(self, binding: Any) -> list[str]:
        """Bind past inputs and present outputs; returns the present names in bind order."""
        names: list[str] = []
        for layer in range(self._io.num_layers):
            for kind in range(2):
                binding.bind_ortvalue_input(
                    GraphIO.past_names(layer)[kind], self._values[2 * layer + kind]
                )
                name = GraphIO.present_names(layer)[kind]
                binding.bind_output(name, "cpu")
                names.append(name)
        return names

    def update(self, presents: list[Any], new_length: int) -> None:
        self._values, self.length = tuple(presents), new_length

    def snapshot(self) -> KvSnapshot:
        return KvSnapshot(self.length, self._values)

    def restore(self, snap: KvSnapshot) -> None:
        self.length, self._values = snap.length, snap.values


class SharedBufferKv:
    shares_storage = True
    # Buffers grow in steps of at least this many positions (and at least double), so a long
    # generation reallocates a handful of times, not every token.
    GROWTH_QUANTUM = 256

    def __init__(self, io: GraphIO, ort: Any, capacity: int) -> None:
        self._io = io
        self._ort = ort
        self.capacity = capacity
        self.length = 0
        self.size = 0  # positions allocated
        self.version = 0  # new (process-unique) whenever the buffers are replaced
        self._arrays: tuple[np.ndarray, ...] = ()
        self._buffers: tuple[Any, ...] = ()

    def reset(self) -> None:
        self.length = 0

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` positions: later ones are masked, then overwritten."""
        self.length = max(0, min(length, self.length))

    def reserve(self, positions: int) -> None:
        """Make room for ``positions`` (capped at ``capacity``), keeping the cached ones."""
        positions = min(positions, self.capacity)
        if positions <= self.size:
            return
        quantum = self.GROWTH_QUANTUM
        size = max(positions, 2 * self.size, quantum)
        size = min(self.capacity, -(-size // quantum) * quantum)
        shape = (1, self._io.num_kv_heads, size, self._io.head_dim)
        # np.zeros maps fresh zero pages: untouched positions cost no memory.  Zeros, not
        # garbage: GQA masks positions >= seqlens, but NaN would still leak through 0 * NaN.
        arrays = tuple(
            np.zeros(shape, dtype=self._io.kv_dtype) for _ in range(2 * self._io.num_layers)
        )
        for new, old in zip(arrays, self._arrays, strict=False):
            new[:, :, : self.size] = old  # all of it: a prefix snapshot may lie past length
        self._arrays = arrays
        self._buffers = tuple(self._ort.OrtValue.ortvalue_from_numpy(a) for a in arrays)
        self.size = size
        self.version = next(_BUFFER_SETS)

    def bind(self, binding: Any) -> list[str]:
        names: list[str] = []
        for layer in range(self._io.num_layers):
            for kind in range(2):
                buffer = self._buffers[2 * layer + kind]
                binding.bind_ortvalue_input(GraphIO.past_names(layer)[kind], buffer)
                name = GraphIO.present_names(layer)[kind]
                binding.bind_ortvalue_output(name, buffer)
                names.append(name)
        return names

    def update(self, presents: list[Any], new_length: int) -> None:
        del presents  # written in place
        self.length = new_length

    def snapshot(self) -> KvSnapshot:
        return KvSnapshot(self.length, ())

    def restore(self, snap: KvSnapshot) -> None:
        self.length = snap.length


KvCache = GrowingKv | SharedBufferKv
