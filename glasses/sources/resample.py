"""Streaming polyphase resampling with a Kaiser-windowed sinc low-pass, in plain numpy.

Why not ``scipy.signal.resample_poly``: it works on whole signals, while microphones deliver
blocks, and scipy is a large install for one function on a Pi.  This is the same polyphase
method, kept stateful so that resampling a stream block by block gives exactly the samples that
resampling it in one go gives, and aligned so that output sample ``n`` sits at time ``n / out``
(no filter delay to correct in timestamps).
"""

from __future__ import annotations

import math

import numpy as np

from glasses.sources.audio import FloatArray


class Resampler:
    """Converts ``in_rate_hz`` to ``out_rate_hz`` block by block (``process``, then ``flush``).

    ``zero_crossings`` sets the filter length in periods of the lower rate (16: ~80 dB
    stop band with ``kaiser_beta`` 8.6); ``rolloff`` puts the pass-band edge at that fraction of
    the lower Nyquist frequency, leaving room for the transition band below it.
    """

    def __init__(
        self,
        in_rate_hz: int,
        out_rate_hz: int,
        *,
        zero_crossings: int = 16,
        rolloff: float = 0.9,
        kaiser_beta: float = 8.6,
    ) -> None:
        if in_rate_hz <= 0 or out_rate_hz <= 0:
            raise ValueError("sample rates must be positive")
        g = math.gcd(in_rate_hz, out_rate_hz)
        self.in_rate_hz = in_rate_hz
        self.out_rate_hz = out_rate_hz
        self._up = out_rate_hz // g
        self._down = in_rate_hz // g
        self._phases, self._centre = _design_phases(
            self._up, self._down, zero_crossings, rolloff, kaiser_beta
        )
        taps = self._phases.shape[1]
        # Input history: the ``taps`` samples before index 0 are the zeros preceding the stream.
        self._buffer = np.zeros(taps, dtype=np.float32)
        self._buffer_start = -taps  # input index of _buffer[0]
        self._consumed_in = 0
        self._next_out = 0
        self._passthrough = self._up == self._down

    @property
    def ratio(self) -> float:
        return self._up / self._down

    def process(self, samples: FloatArray) -> FloatArray:
        """Return every output sample that the input so far fully determines."""
        if self._passthrough:
            self._consumed_in += len(samples)
            return np.asarray(samples, dtype=np.float32)
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.float32)])
        self._consumed_in += len(samples)
        return self._emit(self._consumed_in)

    def flush(self) -> FloatArray:
        """End of stream: pad with silence and return the remaining output samples."""
        if self._passthrough:
            return np.zeros(0, dtype=np.float32)
        total_out = math.ceil(self._consumed_in * self._up / self._down)
        # Enough zeros for the filter of the last output to run past the end of the input.
        pad = self._centre // self._up + 2
        self._buffer = np.concatenate([self._buffer, np.zeros(pad, dtype=np.float32)])
        return self._emit(self._consumed_in + pad, limit=total_out)

    def _emit(self, available_in: int, limit: int | None = None) -> FloatArray:
        up, down, taps = self._up, self._down, self._phases.shape[1]
        # Output n reads input up to floor((n*down + centre) / up): the last n whose newest
        # input sample has arrived.
        last = (available_in * up - 1 - self._centre) // down
        if limit is not None:
            last = min(last, limit - 1)
        count = last - self._next_out + 1
        if count <= 0:
            return np.zeros(0, dtype=np.float32)
        n = np.arange(self._next_out, self._next_out + count, dtype=np.int64)
        position = n * down + self._centre
        newest = position // up - self._buffer_start
        phase = position % up
        index = newest[:, None] - np.arange(taps, dtype=np.int64)[None, :]
        out: FloatArray = np.einsum("ij,ij->i", self._buffer[index], self._phases[phase]).astype(
            np.float32
        )
        self._next_out += count
        # Drop input that no future output reaches.
        keep_from = (self._next_out * down + self._centre) // up - taps + 1 - self._buffer_start
        if keep_from > 0:
            self._buffer = self._buffer[keep_from:]
            self._buffer_start += keep_from
        return out


def _design_phases(
    up: int, down: int, zero_crossings: int, rolloff: float, beta: float
) -> tuple[FloatArray, int]:
    """The low-pass split into ``up`` phases (row p holds taps p, p+up, ...) and its centre tap."""
    if up == down:
        return np.ones((1, 1), dtype=np.float32), 0
    cutoff = rolloff * 0.5 / max(up, down)  # cycles per up-sampled sample
    half = zero_crossings * max(up, down)
    t = np.arange(-half, half + 1, dtype=np.float64)
    taps = 2.0 * cutoff * np.sinc(2.0 * cutoff * t) * np.kaiser(len(t), beta) * up
    per_phase = math.ceil(len(taps) / up)
    padded = np.zeros(per_phase * up, dtype=np.float64)
    padded[: len(taps)] = taps
    return np.ascontiguousarray(padded.reshape(per_phase, up).T, dtype=np.float32), half
