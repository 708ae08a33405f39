"""Drawing a token from a dense distribution in a few float32 passes over the vocabulary.

Dense: tens of thousands of tokens within reach of the best one, as a high temperature or a
model trained for diversity gives.  Sampling may take 2 % of a decode step, which leaves no
room for a sort, a cumulative sum or a pass of float64 arithmetic per token: about 150 µs on
a Pi-class core for Qwen's 151,936 logits.  Here a draw costs the weights once
(``exp((logit - best) / T)`` in float32) and their sums per column of a ``rows x COLUMNS``
view; any partition of the ids serves an inverse-CDF draw, and columns of a row-major view are
summed with whole-row vector adds.  A draw is then a search in ``COLUMNS`` sums and in one
column of ``rows`` weights.

Top-p by rejection: a token is in the nucleus of a best-first sort exactly when the mass of
the tokens strictly better than it is below ``top_p`` of the whole (ties of equal weight go
in together, where a stable sort would split them by id), and a draw from the whole
distribution that lands in the nucleus is a draw from the renormalised nucleus.  The test is
one compare and one dot product; the nucleus holds at least ``top_p`` of the mass, so a draw
is kept with probability ``top_p`` or more.  For a small ``top_p`` (or after ``MAX_DRAWS``
misses) the nucleus is usually among the best ``NUCLEUS_CANDIDATES`` tokens, which the caller
cuts exactly; when it is not, the caller uses the exact band search over everything.

Top-k by a threshold: the k-th largest of ``G >= k`` column maxima is at most the k-th
largest logit (k columns each hold a logit at least that high), so the logits at or above it
contain the top k, and usually not many more.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

COLUMNS: Final = 512
MAX_DRAWS: Final = 4
# A draw lands in the nucleus with probability top_p or more: at or below this, the best
# candidates are tried first (a small nucleus is usually among them).
SMALL_TOP_P: Final = 0.5
NUCLEUS_CANDIDATES: Final = 1024
# Below e^-80 a weight is nothing next to the best token's 1, and float32 would go subnormal
# (a slow path in exp on some CPUs) around e^-87.
FLOOR_NATS: Final = np.float32(-80.0)


def _columns(size: int, columns: int) -> tuple[int, int]:
    """Rows and columns of the padded view: ``rows * columns >= size``."""
    return -(-size // columns), columns


class DenseDraw:
    """Scratch buffers of the vocabulary's size, reused every step (fresh arrays cost more
    in page faults than the arithmetic), and the draws that use them."""

    def __init__(self, size: int) -> None:
        rows, columns = _columns(size, COLUMNS)
        self.size = size
        # Zero padding past ``size``: no weight, never drawn, never counted.
        self._weights = np.zeros(rows * columns, np.float32)
        self._view = self._weights.reshape(rows, columns)
        self._above = np.empty(size, np.float32)
        # np.maximum against an array is several times faster than against a scalar (numpy 2).
        self._floor = np.full(size, FLOOR_NATS, np.float32)

    def weigh(self, scores: npt.NDArray[np.float32], best: float, temperature: float) -> None:
        """The weights ``exp((scores - best) / temperature)`` and their column masses, which
        ``draw`` and ``nucleus_candidates`` use (``total``: the whole mass)."""
        weights = self._weights[: self.size]
        np.subtract(scores, np.float32(best), out=weights)
        weights *= np.float32(1.0 / temperature)
        np.maximum(weights, self._floor, out=weights)
        np.exp(weights, out=weights)
        # Column sums in float32 (whole-row vector adds; a relative error of a few 1e-5 in a
        # column's mass at worst), cumulated in float64.
        self._column_mass = np.cumsum(self._view.sum(axis=0), dtype=np.float64)
        self.total = float(self._column_mass[-1])

    def draw(self, top_p: float, rng: np.random.Generator) -> int | None:
        """One token drawn from the weighed softmax, cut to its ``top_p`` nucleus; None when
        ``MAX_DRAWS`` draws all fell outside the nucleus."""
        weights = self._weights[: self.size]
        for _ in range(MAX_DRAWS):
            token = self._inverse_cdf(self._column_mass, rng.random() * self.total)
            if top_p >= 1.0:
                return token
            np.greater(weights, weights[token], out=self._above, casting="unsafe")
            if float(np.dot(weights, self._above)) < top_p * self.total:
                return token
        return None

    def nucleus_candidates(
        self, scores: npt.NDArray[np.float32], top_p: float
    ) -> npt.NDArray[np.intp] | None:
        """The ids of the best ``NUCLEUS_CANDIDATES`` (or a few more at equal logits) if they
        hold ``top_p`` of the weighed mass, so that the nucleus is among them; None when it is
        larger."""
        threshold = top_k_threshold(scores, NUCLEUS_CANDIDATES)
        if threshold is None:
            return None
        ids = np.flatnonzero(scores >= threshold)
        if float(self._weights[ids].sum(dtype=np.float64)) < top_p * self.total:
            return None
        return ids

    def _inverse_cdf(self, column_mass: npt.NDArray[np.float64], target: float) -> int:
        """The id where the cumulative weight, column by column, passes ``target``."""
        columns = len(column_mass)
        column = min(int(np.searchsorted(column_mass, target, side="right")), columns - 1)
        before = float(column_mass[column - 1]) if column else 0.0
        within = np.cumsum(self._view[:, column], dtype=np.float64)
        row = int(np.searchsorted(within, target - before, side="right"))
        # Rounding can leave ``target`` a hair past the column's sum: take its last real id.
        last_row = (self.size - 1 - column) // columns
        return min(row, last_row) * columns + column


def top_k_threshold(scores: npt.NDArray[np.float32], k: int) -> float | None:
    """A logit value at most the k-th largest of ``scores`` and usually close to it: the k-th
    largest column maximum over ``4k`` or more columns.  None when k is too large for that
    to be cheaper than a selection over everything (more than a sixteenth of the ids)."""
    size = len(scores)
    columns = max(COLUMNS, 1 << (4 * k - 1).bit_length())
    if 16 * k > size or columns > size // 4:
        return None
    full_rows = size // columns
    maxima = scores[: full_rows * columns].reshape(full_rows, columns).max(axis=0)
    tail = scores[full_rows * columns :]
    if len(tail):
        np.maximum(maxima[: len(tail)], tail, out=maxima[: len(tail)])
    return float(np.partition(maxima, columns - k)[columns - k])
