"""M-RoPE positions of a prompt, as transformers' ``Qwen2VLModel.get_rope_index`` computes them.

Every token has three positions (temporal, height, width).  A text token's three are equal: one
more than the largest position before it.  The tokens of one image are its merged patches in
row-major order; with ``offset`` one more than the largest position before the image, row ``r``
of an image whose merged grid is ``t x h x w`` sits at ``offset + (r // (h*w), r // w % h,
r % w)``.  Generated tokens continue as text, which is what the reference's ``rope_deltas`` do.

In the engine's token sequences an image token is a *virtual id*, a negative number naming the
image and the row (:func:`virtual_id`): the KV prefix cache then tells two images apart, and
positions follow from the sequence alone, so any cached prefix keeps its positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from glasses.llm.generator import common_prefix

ROWS = 1 << 24  # rows per image in the virtual id space (a 16k x 16k picture has ~330k)

Grid = tuple[int, int, int]  # merged (llm) grid: temporal, height, width


def virtual_id(image_no: int, row: int) -> int:
    return -(image_no * ROWS + row) - 1


def split_virtual(token: int) -> tuple[int, int]:
    """``(image_no, row)`` of a virtual id."""
    image_no, row = divmod(-token - 1, ROWS)
    return image_no, row


class MropeIndex:
    """Positions ``[3, n]`` of token sequences; remembers the last one, so a sequence that
    extends it (the next decode step) costs only its new tokens."""

    def __init__(self, grid_of: Callable[[int], Grid]) -> None:
        self._grid_of = grid_of  # image_no -> merged grid
        self._ids: list[int] = []
        self._pos = np.zeros((3, 0), dtype=np.int64)
        self._next: list[int] = []  # the next free position after each token

    def positions(self, ids: Sequence[int]) -> npt.NDArray[np.int64]:
        keep = common_prefix(self._ids, ids)
        pos = np.empty((3, len(ids)), dtype=np.int64)
        pos[:, :keep] = self._pos[:, :keep]
        nxt = self._next[:keep]
        following = nxt[-1] if nxt else 0
        offset = 0  # position of the current image's first row
        for i in range(keep, len(ids)):
            token = ids[i]
            if token >= 0:
                pos[:, i] = following
                following += 1
            else:
                image_no, row = split_virtual(token)
                t, h, w = self._grid_of(image_no)
                if row == 0:
                    offset = following
                elif i == keep:
                    offset = int(pos[0, i - row])  # resuming inside an image: its row 0
                pos[0, i], pos[1, i], pos[2, i] = (
                    offset + row // (h * w),
                    offset + row // w % h,
                    offset + row % w,
                )
                following = max(following, offset + max(t, h, w))
            nxt.append(following)
        self._ids, self._pos, self._next = list(ids), pos, nxt
        return pos


def rope_index(
    input_ids: Sequence[int], grids_thw: Sequence[Grid], image_token_id: int, merge_size: int
) -> npt.NDArray[np.int64]:
    """``get_rope_index`` for one sequence of real ids (each image's ``<|image_pad|>`` run
    expanded) and the images' patch grids: the reference's positions ``[3, n]``."""
    grids = [(t, h // merge_size, w // merge_size) for t, h, w in grids_thw]
    ids: list[int] = []
    image_no, i = 0, 0
    while i < len(input_ids):
        if input_ids[i] == image_token_id and image_no < len(grids):
            t, h, w = grids[image_no]
            ids += [virtual_id(image_no, r) for r in range(t * h * w)]
            image_no += 1
            i += t * h * w
        else:
            ids.append(int(input_ids[i]))
            i += 1
    return MropeIndex(lambda n: grids[n]).positions(ids)
