"""M-RoPE positions (glasses.llm.vision.mrope): worked examples of get_rope_index's rule, and
the incremental index equal to a fresh one however the sequence is cut (the runner asks for
the positions of each prompt chunk and decode step, resuming inside a picture too)."""

from __future__ import annotations

import numpy as np
import pytest

from glasses.llm.vision.mrope import MropeIndex, rope_index, split_virtual, virtual_id

pytestmark = pytest.mark.fast

PAD = 99


def test_a_picture_between_text() -> None:
    # 2 text tokens, a 1 x 2 x 3 merged picture (a 4 x 6 patch grid), 2 text tokens.
    positions = rope_index([5, 6, *[PAD] * 6, 7, 8], [(1, 4, 6)], PAD, 2)
    assert positions.tolist() == [
        [0, 1, 2, 2, 2, 2, 2, 2, 5, 6],
        [0, 1, 2, 2, 2, 3, 3, 3, 5, 6],
        [0, 1, 2, 3, 4, 2, 3, 4, 5, 6],
    ]


def test_virtual_ids_round_trip() -> None:
    for number, row in ((0, 0), (3, 17), (1000, (1 << 24) - 1)):
        token = virtual_id(number, row)
        assert token < 0
        assert split_virtual(token) == (number, row)


@pytest.mark.parametrize("cuts", [(1,), (3,), (4, 9), (2, 5, 11, 12)])
def test_incremental_positions_equal_a_fresh_index(cuts: tuple[int, ...]) -> None:
    grids = {0: (1, 2, 2), 1: (1, 3, 1)}
    ids = [1, 2, *(virtual_id(0, r) for r in range(4)), 3, *(virtual_id(1, r) for r in range(3)), 4]
    fresh = MropeIndex(grids.__getitem__).positions(ids)
    index = MropeIndex(grids.__getitem__)
    index.positions([7, 7, 7])  # an unrelated sequence first: nothing of it is reused
    for cut in (*cuts, len(ids)):
        np.testing.assert_array_equal(index.positions(ids[:cut]), fresh[:, :cut])
    assert fresh[:, -1].tolist() == [8, 8, 8]  # text after the pictures continues from max + 1
