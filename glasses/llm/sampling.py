"""Next-token choice from logits: greedy, temperature, top-k, top-p, repetition penalty."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


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
    def __init__(self, config: SamplingConfig, valid_vocab: int) -> None:
        self.config = config
        # Logits beyond the tokenizer's vocabulary are padding rows of the embedding: no text.
        self._valid_vocab = valid_vocab
        self._rng = np.random.default_rng(config.seed)

    def __call__(self, logits: npt.NDArray[np.float32], context: Iterable[int]) -> int:
        scores = np.array(logits[: self._valid_vocab], dtype=np.float32)
        cfg = self.config
        if cfg.repetition_penalty != 1.0:
            seen = np.fromiter(set(context), dtype=np.int64)
            seen = seen[seen < scores.shape[0]]
            picked = scores[seen]
            scores[seen] = np.where(
                picked > 0, picked / cfg.repetition_penalty, picked * cfg.repetition_penalty
            )
        if cfg.greedy:
            return int(np.argmax(scores))
        scores = scores / cfg.temperature
        if 0 < cfg.top_k < scores.shape[0]:
            candidates = np.argpartition(scores, -cfg.top_k)[-cfg.top_k :]
        else:
            candidates = np.arange(scores.shape[0])
        candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
        probs = np.exp(scores[candidates] - scores[candidates[0]])
        probs /= probs.sum()
        if cfg.top_p < 1.0:
            # Smallest prefix whose mass reaches top_p (always at least the best token).
            keep = int(np.searchsorted(np.cumsum(probs), cfg.top_p)) + 1
            candidates, probs = candidates[:keep], probs[:keep] / probs[:keep].sum()
        return int(candidates[self._rng.choice(len(candidates), p=probs)])
