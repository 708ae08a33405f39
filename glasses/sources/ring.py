"""A preallocated single-producer / single-consumer sample ring for audio callbacks.

The producer is PortAudio's callback thread: it must not allocate, block or wait on a lock,
or the audio device underruns.  So the ring never grows and never locks: the producer only
advances ``_written`` and the consumer only advances ``_read`` (each a plain int store, atomic
under the GIL), and a block that does not fit is dropped whole and counted instead of waiting.
"""

from __future__ import annotations

import numpy as np

from glasses.sources.audio import FloatArray


class SampleRing:
    """Fixed-capacity float32 ring; ``write`` from one thread, ``read_all`` from another."""

    def __init__(self, capacity_samples: int) -> None:
        if capacity_samples <= 0:
            raise ValueError("capacity_samples must be positive")
        self._data = np.zeros(capacity_samples, dtype=np.float32)
        self._capacity = capacity_samples
        self._written = 0  # total samples ever written; only the producer stores it
        self._read = 0  # total samples ever read; only the consumer stores it
        self.dropped_samples = 0  # producer-owned counters
        self.dropped_blocks = 0

    @property
    def capacity_samples(self) -> int:
        return self._capacity

    def available(self) -> int:
        return self._written - self._read

    def write(self, block: FloatArray) -> bool:
        """Copy ``block`` in (producer side); drop it and count it if there is no room."""
        count = len(block)
        if count > self._capacity - (self._written - self._read):
            self.dropped_samples += count
            self.dropped_blocks += 1
            return False
        start = self._written % self._capacity
        first = min(count, self._capacity - start)
        # Two slice copies into preallocated memory: no temporaries are made.
        self._data[start : start + first] = block[:first]
        if first < count:
            self._data[: count - first] = block[first:]
        self._written += count  # publish only after the data is in place
        return True

    def read_all(self) -> FloatArray:
        """Take everything written so far (consumer side); allocates, so never call it in a callback."""
        end = self._written
        count = end - self._read
        out = np.empty(count, dtype=np.float32)
        start = self._read % self._capacity
        first = min(count, self._capacity - start)
        out[:first] = self._data[start : start + first]
        if first < count:
            out[first:] = self._data[: count - first]
        self._read = end
        return out


class TailRing:
    """The last ``capacity_samples`` samples pushed (a pre-roll), in a preallocated ring."""

    def __init__(self, capacity_samples: int) -> None:
        self._capacity = max(0, capacity_samples)
        self._data = np.zeros(max(1, self._capacity), dtype=np.float32)
        self._pos = 0
        self._fill = 0

    def push(self, samples: FloatArray) -> None:
        if self._capacity == 0:
            return
        samples = samples[-self._capacity :]
        n = len(samples)
        first = min(n, self._capacity - self._pos)
        self._data[self._pos : self._pos + first] = samples[:first]
        self._data[: n - first] = samples[first:]
        self._pos = (self._pos + n) % self._capacity
        self._fill = min(self._capacity, self._fill + n)

    def contents(self) -> FloatArray:
        """Oldest first (a new array)."""
        if self._fill < self._capacity:  # not wrapped yet: the data starts at 0
            head: FloatArray = self._data[: self._fill].copy()
            return head
        ordered: FloatArray = np.concatenate([self._data[self._pos :], self._data[: self._pos]])
        return ordered

    def clear(self) -> None:
        self._pos = 0
        self._fill = 0
