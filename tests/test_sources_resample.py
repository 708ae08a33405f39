"""The streaming polyphase resampler: accuracy, alias rejection, and block-size independence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from perception_support.speech import tone

from glasses.sources.resample import Resampler

pytestmark = pytest.mark.fast


def _run(resampler: Resampler, x: np.ndarray, block: int) -> np.ndarray:
    parts = [resampler.process(x[i : i + block]) for i in range(0, len(x), block)]
    return np.concatenate([*parts, resampler.flush()])


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_tone_survives_resampling_in_time_and_level(rate: int) -> None:
    x = tone(1.0, 1000.0, rate)
    y = _run(Resampler(rate, 16_000), x, 1024)
    assert len(y) == 16_000  # ceil(len * out / in): no samples lost or invented
    reference = tone(1.0, 1000.0, 16_000)
    # Zero delay: output n sits at n / 16000 s, so it matches the ideal tone sample by sample.
    assert np.max(np.abs(y[300:-300] - reference[300:-300])) < 1e-3


def test_frequencies_above_the_new_nyquist_are_removed() -> None:
    y = _run(Resampler(48_000, 16_000), tone(1.0, 10_000.0, 48_000), 4800)
    assert np.sqrt(np.mean(y[300:-300] ** 2)) < 1e-3  # a 0.35 RMS tone, now ~80 dB down


def test_equal_rates_pass_samples_through() -> None:
    x = tone(0.1, 440.0)
    resampler = Resampler(16_000, 16_000)
    assert np.array_equal(resampler.process(x), x)
    assert len(resampler.flush()) == 0


def test_rejects_non_positive_rates() -> None:
    with pytest.raises(ValueError):
        Resampler(0, 16_000)


@settings(max_examples=25, deadline=None)
@given(
    rate=st.sampled_from([22_050, 44_100, 48_000, 8_000]),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
)
def test_block_boundaries_do_not_change_the_output(rate: int, cuts: list[int]) -> None:
    x = np.random.default_rng(1).standard_normal(4000).astype(np.float32)
    whole = _run(Resampler(rate, 16_000), x, len(x))
    resampler = Resampler(rate, 16_000)
    edges = [0, *sorted(cuts), len(x)]
    parts = [resampler.process(x[a:b]) for a, b in itertools.pairwise(edges)]
    chunked = np.concatenate([*parts, resampler.flush()])
    assert len(chunked) == len(whole)
    assert np.allclose(chunked, whole, atol=1e-5)
