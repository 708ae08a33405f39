"""Sampling and stop strings: pure numpy / pure Python, no model needed."""

from __future__ import annotations

import numpy as np
import pytest

from glasses.llm.sampling import Sampler, SamplingConfig
from glasses.llm.text_stream import StopMatcher


def draws(
    config: SamplingConfig, logits: np.ndarray, n: int = 400, context: tuple[int, ...] = ()
) -> list[int]:
    sampler = Sampler(config, valid_vocab=len(logits))
    return [sampler(logits.astype(np.float32), context) for _ in range(n)]


LOGITS = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0, 3.0, 1.5])


def test_greedy_is_argmax_and_ignores_padding_ids() -> None:
    assert draws(SamplingConfig(greedy=True), LOGITS, n=3) == [6, 6, 6]
    padded = np.append(LOGITS, 100.0)  # an id beyond the tokenizer's vocabulary
    assert Sampler(SamplingConfig(greedy=True), valid_vocab=len(LOGITS))(padded, ()) == 6


def test_top_k_and_top_p_limit_the_candidates() -> None:
    assert set(draws(SamplingConfig(top_k=2, seed=0), LOGITS)) == {0, 6}
    # Softmax mass: id 6 ~ 0.53, id 0 ~ 0.20, id 7 ~ 0.12 -> top_p 0.75 keeps exactly {6, 0, 7}.
    assert set(draws(SamplingConfig(top_p=0.75, seed=0), LOGITS)) == {0, 6, 7}
    assert set(draws(SamplingConfig(top_p=0.01, seed=0), LOGITS, n=20)) == {6}


def test_temperature_flattens_or_sharpens() -> None:
    cold = draws(SamplingConfig(temperature=0.05, seed=1), LOGITS)
    hot = draws(SamplingConfig(temperature=5.0, seed=1), LOGITS)
    assert set(cold) == {6}
    assert len(set(hot)) >= 6


def test_frequencies_follow_softmax() -> None:
    samples = draws(SamplingConfig(seed=3), LOGITS, n=4000)
    probs = np.exp(LOGITS - LOGITS.max())
    probs /= probs.sum()
    freq = np.bincount(samples, minlength=len(LOGITS)) / len(samples)
    np.testing.assert_allclose(freq, probs, atol=0.03)


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    sampler = Sampler(SamplingConfig(greedy=True, repetition_penalty=2.0), valid_vocab=3)
    assert sampler(np.array([3.0, 2.0, -1.0], dtype=np.float32), []) == 0
    assert sampler(np.array([3.0, 2.0, -1.0], dtype=np.float32), [0, 0]) == 1  # 3/2 < 2
    assert sampler(np.array([-1.0, -1.5, -5.0], dtype=np.float32), [0]) == 1  # -2 < -1.5


def test_seed_makes_sampling_reproducible() -> None:
    config = SamplingConfig(temperature=1.3, top_k=5, seed=42)
    assert draws(config, LOGITS, 50) == draws(config, LOGITS, 50)
    assert draws(config, LOGITS, 50) != draws(
        SamplingConfig(temperature=1.3, top_k=5, seed=43), LOGITS, 50
    )


def test_invalid_settings_are_rejected() -> None:
    for bad in ({"temperature": 0.0}, {"top_p": 0.0}, {"top_k": -1}, {"repetition_penalty": 0}):
        with pytest.raises(ValueError):
            SamplingConfig(**bad)  # type: ignore[arg-type]


def test_from_generation_config() -> None:
    assert SamplingConfig.from_generation_config({}) == SamplingConfig(greedy=True)
    cfg = SamplingConfig.from_generation_config(
        {"do_sample": True, "temperature": 0.6, "top_k": 20, "top_p": 0.95}
    )
    assert cfg == SamplingConfig(temperature=0.6, top_k=20, top_p=0.95)


def run_stops(stops: tuple[str, ...], pieces: list[str]) -> tuple[str, bool]:
    matcher = StopMatcher(stops)
    out = []
    for piece in pieces:
        out.append(matcher.push(piece))
        if matcher.stopped:
            break
    out.append(matcher.flush())
    return "".join(out), matcher.stopped


def test_stop_string_split_across_pieces_is_never_shown() -> None:
    assert run_stops(("</answer>",), ["The sign: EXIT", "</ans", "wer> more"]) == (
        "The sign: EXIT",
        True,
    )
    matcher = StopMatcher(("</answer>",))
    assert matcher.push("ok </an") == "ok "  # "</an" held back: it may become the stop
    assert matcher.push("d") == "</and"  # ... it did not


def test_no_stop_flushes_everything() -> None:
    assert run_stops(("STOP",), ["ST", "O", "P!"][:2]) == ("STO", False)
    assert run_stops((), ["a", "b"]) == ("ab", False)
    assert run_stops(("x", "yz"), ["aay", "zbx"]) == ("aa", True)  # earliest match wins
