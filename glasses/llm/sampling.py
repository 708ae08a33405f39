"""Next-token choice from logits: greedy, temperature, top-k, top-p, repetition penalty."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from glasses.llm.dense_sampling import SMALL_TOP_P, DenseDraw, top_k_threshold


@dataclass(frozen=True)
class SamplingConfig:
    greedy: bool = False
    temperature: float = 1.0
    top_k: int = 0  # 0 = no top-k cut
    top_p: float = 1.0  # 1.0 = no nucleus cut
    repetition_penalty: float = 1.0  # 1.0 = off; > 1 discourages tokens already in the context
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature <= 0 and not self.greedy:
            raise ValueError("temperature must be > 0 (use greedy=True for argmax)")
        if self.top_k < 0 or not 0 < self.top_p <= 1 or self.repetition_penalty <= 0:
            raise ValueError("need top_k >= 0, 0 < top_p <= 1, repetition_penalty > 0")

    @classmethod
    def from_generation_config(cls, defaults: dict[str, Any]) -> SamplingConfig:
        """The model's recommended settings (generation_config.json / genai search section)."""
        return cls(
            greedy=not bool(defaults.get("do_sample", False)),
            temperature=float(defaults.get("temperature", 1.0)) or 1.0,
            top_k=int(defaults.get("top_k", 0) or 0),
            top_p=float(defaults.get("top_p", 1.0) or 1.0),
            repetition_penalty=float(defaults.get("repetition_penalty", 1.0) or 1.0),
        )


class Sampler:
    """Picks the next token.  Never sorts or exponentiates the whole vocabulary more than once.
    Peaked logits (what a model's usually are): the softmax is computed over the tokens
    within ``TAIL_LOGITS x temperature`` of the best logit (the rest have, all together, less
    than ``TAIL_MASS`` of the probability: below float tolerance), top-k is a partial
    selection (``argpartition``) of those, and top-p sorts only a candidate set that starts
    at ``NUCLEUS_START`` tokens and grows geometrically until its mass reaches ``top_p``.
    Dense logits (more than ``DENSE`` tokens within reach): top-k from a threshold on column
    maxima, otherwise a draw in a few float32 passes with top-p by rejection
    (``dense_sampling``).  The distribution equals the exact full-sort one to float
    precision; ``scripts/bench_llm.py`` reports the cost against a decode step."""

    TAIL_MASS = 1e-6
    NUCLEUS_START = 64
    NUCLEUS_GROWTH = 8
    DENSE = 4096  # more candidates than this: the vectorised paths below
    BANDS_PER_NAT = 4  # the dense nucleus's mass bands: a quarter of a nat of log-probability

    def __init__(self, config: SamplingConfig, valid_vocab: int) -> None:
        self.config = config
        # Logits beyond the tokenizer's vocabulary are padding rows of the embedding: no text.
        self._valid_vocab = valid_vocab
        self._rng = np.random.default_rng(config.seed)
        # Each token outside the candidate set is below exp(-tail) of the best one, so all of
        # them together hold less than TAIL_MASS of the probability.
        self._tail = math.log(max(valid_vocab, 1) / self.TAIL_MASS)
        self._seen: set[int] = set()
        self._seen_from: list[int] | None = None  # the context list ``_seen`` was built from
        self._seen_count = 0
        self._dense: DenseDraw | None = None
        self._scratch: (
            tuple[npt.NDArray[np.float32], npt.NDArray[np.float64], npt.NDArray[np.intp]] | None
        ) = None

    def __call__(self, logits: npt.NDArray[np.float32], context: Iterable[int]) -> int:
        scores = self._penalised(logits, context)
        if self.config.greedy:
            return int(np.argmax(scores))
        best = float(scores.max())
        cfg = self.config
        if not cfg.top_k and not self._peaked(scores, best):
            # Dense without a top-k cut: a draw in a few passes (``dense_sampling``); for a
            # small top-p, or one that rejects every draw, the exact nucleus from the best
            # candidates, or from the band search over everything.
            if self._dense is None or self._dense.size != len(scores):
                self._dense = DenseDraw(len(scores))
            dense = self._dense
            dense.weigh(scores, best, cfg.temperature)
            small = cfg.top_p <= SMALL_TOP_P
            token = self._from_candidates(dense, scores, best) if small else None
            if token is None:
                token = dense.draw(cfg.top_p, self._rng)
            if token is None and not small:
                token = self._from_candidates(dense, scores, best)
            if token is not None:
                return token
        return self._choose(*self._distribution(scores, best))

    def _from_candidates(
        self, dense: DenseDraw, scores: npt.NDArray[np.float32], best: float
    ) -> int | None:
        """A draw from the exact nucleus when the dense draw's best candidates hold it."""
        ids = dense.nucleus_candidates(scores, self.config.top_p)
        if ids is None:
            return None
        weights = np.exp((scores[ids].astype(np.float64) - best) / self.config.temperature)
        ids, weights = self._nucleus(ids, weights, dense.total)
        return self._choose(ids, weights / weights.sum())

    def _choose(self, ids: npt.NDArray[np.intp], probs: npt.NDArray[np.float64]) -> int:
        if len(ids) == 1:
            return int(ids[0])
        # What Generator.choice(p=probs) does, without its O(n) validation of p.
        cdf = np.cumsum(probs)
        cdf /= cdf[-1]
        return int(ids[int(np.searchsorted(cdf, self._rng.random(), side="right"))])

    def distribution(
        self, logits: npt.NDArray[np.float32], context: Iterable[int] = ()
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The candidate token ids and their probabilities (summing to 1) after the
        repetition penalty, temperature, top-k and top-p.  Ids come best first when top-p
        cut them, otherwise in no particular order."""
        scores = self._penalised(logits, context)
        if self.config.greedy:
            return np.array([np.argmax(scores)], dtype=np.int64), np.ones(1)
        return self._distribution(scores, float(scores.max()))

    def _peaked(self, scores: npt.NDArray[np.float32], best: float) -> bool:
        """Whether few enough tokens are within reach of the best for exact float64 work;
        the tail below ``floor`` holds < TAIL_MASS (what a model's logits usually are)."""
        floor = best - self._tail * self.config.temperature
        return int(np.count_nonzero(scores >= floor)) <= self.DENSE

    def _distribution(
        self, scores: npt.NDArray[np.float32], best: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        cfg = self.config
        temperature = cfg.temperature
        total = 0.0  # the mass top-p is a share of: the candidates' unless set below
        if self._peaked(scores, best):
            ids = np.flatnonzero(scores >= best - self._tail * temperature)
            if 0 < cfg.top_k < len(ids):
                ids = ids[np.argpartition(scores[ids], len(ids) - cfg.top_k)[-cfg.top_k :]]
        elif cfg.top_k:
            ids = self._top_k(scores, best)
        elif cfg.top_p < 1.0:
            ids, total = self._dense_nucleus(scores, best)
        else:
            ids = np.arange(len(scores))
        # Softmax with temperature, stable (the best logit maps to exp(0) = 1), in float64.
        weights = np.exp((scores[ids].astype(np.float64) - best) / temperature)
        if cfg.top_p < 1.0:
            ids, weights = self._nucleus(ids, weights, total or float(weights.sum()))
        return ids.astype(np.int64, copy=False), weights / weights.sum()

    def _top_k(self, scores: npt.NDArray[np.float32], best: float) -> npt.NDArray[np.intp]:
        """The ``top_k`` best ids of a dense set of logits: those at or above a threshold
        that holds at least ``top_k`` of them (from column maxima, ``dense_sampling``; for a
        large k, a threshold that widens geometrically until it does), then a partial
        selection."""
        k = self.config.top_k
        threshold = top_k_threshold(scores, k)
        if threshold is not None:
            ids = np.flatnonzero(scores >= threshold)
        else:
            width = self.config.temperature
            while True:
                ids = np.flatnonzero(scores >= best - width)
                if len(ids) >= k or width > self._tail * self.config.temperature:
                    break
                width *= 4
        if k < len(ids):
            ids = ids[np.argpartition(scores[ids], len(ids) - k)[-k:]]
        return ids

    def _dense_nucleus(
        self, scores: npt.NDArray[np.float32], best: float
    ) -> tuple[npt.NDArray[np.intp], float]:
        """Top-p candidates among many comparable logits, in a fixed number of vectorised
        passes: the whole vocabulary's mass, and its mass per band of ``1 / BANDS_PER_NAT``
        nats below the best token; the nucleus is every band above the one where the mass
        reaches ``top_p`` plus part of that one (``_nucleus`` cuts it exactly).  Returns the
        candidates and the whole mass."""
        n = len(scores)
        if self._scratch is None or len(self._scratch[0]) != n:
            # Reused every step: fresh arrays of the vocabulary's size each time cost more in
            # page faults than the arithmetic below.
            self._scratch = (np.empty(n, np.float32), np.empty(n, np.float64), np.empty(n, np.intp))
        log_weights, weights, bands = self._scratch
        np.subtract(scores, np.float32(best), out=log_weights)
        log_weights *= np.float32(1.0 / self.config.temperature)
        # Below e^-80 a weight is nothing next to the best token's 1, and float32 would go
        # subnormal (a slow path in exp on some CPUs) around e^-87.
        np.maximum(log_weights, np.float32(-80.0), out=log_weights)
        last = int(self._tail * self.BANDS_PER_NAT)
        np.multiply(log_weights, np.float32(-self.BANDS_PER_NAT), out=bands, casting="unsafe")
        np.minimum(bands, last, out=bands)
        # np.bincount takes intp bands and float64 weights; given others it converts them
        # itself, more slowly than exp in float32 and this cast.
        np.exp(log_weights, out=log_weights)
        np.copyto(weights, log_weights)
        mass = np.cumsum(np.bincount(bands, weights=weights, minlength=last + 1))
        total = float(mass[-1])
        cut = min(int(np.searchsorted(mass, self.config.top_p * total)), last)
        return np.flatnonzero(bands <= cut), total

    def _nucleus(
        self, ids: npt.NDArray[np.intp], weights: npt.NDArray[np.float64], total: float
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """The smallest best-first prefix whose mass reaches ``top_p`` of ``total`` (at least
        one token), as an exact sort would find it; only the candidates considered are sorted:
        the best ``NUCLEUS_START``, then ``NUCLEUS_GROWTH`` times more while short of top_p."""
        top_p, count = self.config.top_p, len(ids)
        size = min(count, self.NUCLEUS_START)
        while True:
            everything = size == count
            top = np.arange(count) if everything else np.argpartition(-weights, size)[:size]
            top = top[np.argsort(-weights[top], kind="stable")]
            cumulative = np.cumsum(weights[top]) / total
            if everything or cumulative[-1] >= top_p:
                keep = min(int(np.searchsorted(cumulative, top_p)) + 1, size)
                return ids[top[:keep]], weights[top[:keep]]
            size = min(count, size * self.NUCLEUS_GROWTH)

    def _penalised(
        self, logits: npt.NDArray[np.float32], context: Iterable[int]
    ) -> npt.NDArray[np.float32]:
        """The valid logits (a view when there is no penalty, else a copy with the penalty
        applied to the tokens already in the context only)."""
        scores = logits[: self._valid_vocab]
        penalty = self.config.repetition_penalty
        if penalty == 1.0:
            return scores
        seen = np.fromiter(self._seen_tokens(context), dtype=np.int64)
        seen = seen[seen < scores.shape[0]]
        scores = np.array(scores, dtype=np.float32)
        picked = scores[seen]
        scores[seen] = np.where(picked > 0, picked / penalty, picked * penalty)
        return scores

    def _seen_tokens(self, context: Iterable[int]) -> set[int]:
        """The distinct tokens of ``context``; a list that only grew since the last call (the
        decode loop's context) is read from where it was left."""
        if isinstance(context, list):
            if context is not self._seen_from or len(context) < self._seen_count:
                self._seen, self._seen_from, self._seen_count = set(), context, 0
            self._seen.update(context[self._seen_count :])
            self._seen_count = len(context)
            return self._seen
        return set(context)
