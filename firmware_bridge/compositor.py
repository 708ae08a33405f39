"""The compositor: turns the device's screen into a new screen with as few link bytes as possible.

It mirrors the device's back buffer and sends only what differs: dirty rows grouped into
bands (a small gap is cheaper to resend than a new BLIT header), bands cut at wide clean
column gaps, each rectangle coded RAW or PACKBITS, whichever is smaller, and cut to the
device's payload limit. A screen that is mostly one level may instead start with a CLEAR.
Content that moved up or down (scrolling captions) is moved on the device with one COPY
first, so only what is really new is sent.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

import numpy as np
import numpy.typing as npt

from firmware_bridge.protocol import packbits, pixels
from firmware_bridge.protocol.frame import CRC_LEN, HEADER_LEN
from firmware_bridge.protocol.messages import (
    BLIT_HEADER_LEN,
    COPY_PAYLOAD_LEN,
    Blit,
    Clear,
    Copy,
    Encoding,
    HelloAck,
    Message,
    Present,
)

Levels = npt.NDArray[np.uint8]
# Bytes every frame costs besides its payload: header, CRC, COBS code byte and delimiter
# (COBS adds one more byte per 254, ignored here since every plan pays it alike).
FRAME_OVERHEAD: Final = HEADER_LEN + CRC_LEN + 2
BLIT_OVERHEAD: Final = FRAME_OVERHEAD + BLIT_HEADER_LEN
_U32_MASK: Final = 0xFFFFFFFF
# Scroll detection: a row whose content occurs more often than this in the old screen votes
# for no shift (too ambiguous); only the best-voted shifts are tried; a COPY must move at
# least this many changed rows to be worth its frame.
_MAX_ROW_REPEATS: Final = 4
_SHIFTS_TRIED: Final = 2
_MIN_COPY_ROWS: Final = 2
_WORD_OF_PPB: Final = {2: np.uint16, 4: np.uint32, 8: np.uint64}  # pixels per packed byte

Span = tuple[int, int, int, int]  # rows r0..r1, byte columns c0..c1 (ends exclusive)
Mask = npt.NDArray[np.bool_]


def _any(mask: Mask, axis: int) -> Mask:
    return np.asarray(mask.any(axis=axis), dtype=np.bool_)


def _runs(flags: Mask) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D array."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _extent(flags: Mask) -> tuple[int, int]:
    idx = np.flatnonzero(flags)
    return int(idx[0]), int(idx[-1]) + 1


def coded_cost(block: Levels) -> int:
    """Payload bytes of ``block`` (packed rows) as the smaller of RAW and PACKBITS, with the
    PackBits size estimated from its byte runs in one numpy pass (within a few bytes)."""
    flat = block.ravel()
    n = int(flat.size)
    if n == 0:
        return 0
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    lengths = np.diff(np.append(starts, n))
    runs = lengths >= packbits.MIN_RUN
    repeat = 2 * int(np.sum((lengths[runs] + packbits.MAX_CHUNK - 1) // packbits.MAX_CHUNK))
    literal = int(lengths[~runs].sum())
    chunks = int(np.count_nonzero(runs)) + 1 + literal // packbits.MAX_CHUNK
    return min(n, repeat + literal + min(chunks, literal))


def dirty_spans(dirty: Mask, packed: Levels | None = None) -> list[Span]:
    """Rectangles covering every True of a (rows, byte columns) mask, cheaply in bytes.

    Two pieces are merged when sending the bytes between them (``packed``, the target's
    packed rows; raw size if None) costs less than the overhead of one more BLIT.
    """

    def cost(r0: int, r1: int, c0: int, c1: int) -> int:
        if packed is None:
            return (r1 - r0) * (c1 - c0)
        return coded_cost(packed[r0:r1, c0:c1])

    bands: list[Span] = []
    for r0, r1 in _runs(_any(dirty, 1)):
        c0, c1 = _extent(_any(dirty[r0:r1], 0))
        if bands:
            p0, p1, q0, q1 = bands[-1]
            m0, m1 = min(q0, c0), max(q1, c1)
            apart = cost(p0, p1, q0, q1) + cost(r0, r1, c0, c1) + BLIT_OVERHEAD
            if cost(p0, r1, m0, m1) <= apart:
                bands[-1] = (p0, r1, m0, m1)
                continue
        bands.append((r0, r1, c0, c1))
    spans: list[Span] = []
    for r0, r1, _, _ in bands:
        band = dirty[r0:r1]
        pieces: list[Span] = []
        for c0, c1 in _runs(_any(band, 0)):
            s0, s1 = _extent(_any(band[:, c0:c1], 1))  # tighten rows per piece
            piece = (r0 + s0, r0 + s1, c0, c1)
            if pieces:
                p0, p1, q0, _ = pieces[-1]
                m0, m1 = min(p0, piece[0]), max(p1, piece[1])
                apart = cost(p0, p1, q0, pieces[-1][3]) + cost(*piece) + BLIT_OVERHEAD
                if cost(m0, m1, q0, c1) <= apart:
                    pieces[-1] = (m0, m1, q0, c1)
                    continue
            pieces.append(piece)
        spans += pieces
    return spans


class Compositor:
    """A :class:`~firmware_bridge.link.ScreenEncoder` for one display's pixel format."""

    def __init__(
        self, width_px: int, height_px: int, bpp: int, max_payload: int, *, use_copy: bool = True
    ) -> None:
        self.ppb = pixels.pixels_per_byte(bpp)  # validates bpp
        if width_px <= 0 or height_px <= 0 or width_px % self.ppb:
            raise ValueError(f"width {width_px} must be a positive multiple of {self.ppb} px")
        self.width_px, self.height_px, self.bpp = width_px, height_px, bpp
        self._copy_wanted = use_copy
        self.budget = 0  # pixel bytes per BLIT
        self.use_copy = False
        self.set_max_payload(max_payload)
        self._mirror: Levels | None = None
        self._mirror_packed: Levels | None = None  # the mirror's packed rows
        self._frame_id = 0

    def set_max_payload(self, max_payload: int) -> None:
        """Later BLITs carry at most ``max_payload`` bytes (the link lowers it on a noisy wire)."""
        budget = min(max_payload, 0xFFFF) - BLIT_HEADER_LEN
        if budget < 1:
            raise ValueError(f"max_payload {max_payload} leaves no room for pixels in a BLIT")
        self.budget = budget
        # False: BLIT / CLEAR only, never move pixels on the device. (Every v1 device accepts
        # 64-byte payloads; the check only matters for the artificially small limits of tests.)
        self.use_copy = self._copy_wanted and max_payload >= COPY_PAYLOAD_LEN

    @classmethod
    def for_device(cls, hello_ack: HelloAck) -> Compositor:
        return cls(hello_ack.width_px, hello_ack.height_px, hello_ack.bpp, hello_ack.max_payload)

    @property
    def mirror(self) -> Levels | None:
        """What the device's back buffer holds after the last update; None if unknown."""
        return None if self._mirror is None else self._mirror.copy()

    def forget(self) -> None:
        """The device content is unknown again: the next update covers the whole screen."""
        self._mirror = self._mirror_packed = None

    def update(self, target: npt.NDArray[np.integer]) -> list[Message]:
        levels = self._check(target)
        mirror = self._mirror
        if mirror is not None and np.array_equal(mirror, levels):
            return []
        packed = np.frombuffer(pixels.pack(levels, self.bpp), dtype=np.uint8)
        packed = packed.reshape(self.height_px, -1)
        plans: list[list[Message]] = []
        bg = int(np.argmax(np.bincount(levels.ravel(), minlength=1 << self.bpp)))
        clean = levels == bg
        diff = None if mirror is None else mirror != levels
        scroll = None
        if mirror is not None and diff is not None:
            scroll = self._scroll_plan(mirror, levels, packed, diff) if self.use_copy else None
            # Encoding is most of the compositor's time: a plan is not encoded when the scroll
            # plan is clearly cheaper than its estimate (estimates are within a few percent).
            if scroll is None or self._estimate(packed, diff) < 2 * _wire_cost(scroll):
                plans.append(list(self._blits(packed, diff)))
            if scroll is not None:
                plans.append(scroll)
        if diff is None or (
            int(np.count_nonzero(~clean)) < int(np.count_nonzero(diff))
            and (scroll is None or self._estimate(packed, ~clean) < 2 * _wire_cost(scroll))
        ):
            plans.append([Clear(bg), *self._blits(packed, ~clean)])
        best = min(plans, key=_wire_cost)  # the first of equals: no COPY unless it saves bytes
        self._frame_id = (self._frame_id + 1) & _U32_MASK
        self._mirror, self._mirror_packed = levels, packed
        return [*best, Present(self._frame_id)]

    def _scroll_plan(
        self, mirror: Levels, levels: Levels, packed: Levels, diff: Mask
    ) -> list[Message] | None:
        """A plan that starts with a COPY moving rows of the device screen up or down.

        Rows are compared as packed bytes over the changed byte columns. Every changed,
        non-uniform row of the target votes for the shifts at which the old screen holds the
        same row; for each of the best-voted shifts, the run of rows it reproduces that covers
        the most changed rows is copied on a working copy of the mirror. The shift that
        leaves the fewest changed pixels wins, and the rest is diffed as usual. The caller
        keeps the plan only if it is the cheapest. None: no shift helps.
        """
        old = self._mirror_packed
        if old is None:
            old = np.frombuffer(pixels.pack(mirror, self.bpp), dtype=np.uint8)
            old = old.reshape(self.height_px, -1)
        byte_dirty = self._byte_mask(diff)
        dirty_rows = _any(byte_dirty, 1)
        if int(np.count_nonzero(dirty_rows)) < _MIN_COPY_ROWS:
            return None
        c0, c1 = _extent(_any(byte_dirty, 0))
        band = packed[:, c0:c1]
        uniform = np.all(band == band[:, :1], axis=1)  # background: matches at any shift
        voters = np.flatnonzero(dirty_rows & ~uniform)
        if voters.size < _MIN_COPY_ROWS:
            return None
        height = self.height_px
        # One id per distinct row content (over columns c0..c1), shared by both screens.
        rows = np.ascontiguousarray(np.concatenate((old[:, c0:c1], band)))
        _, ids = np.unique(rows.view(np.dtype((np.void, c1 - c0))).ravel(), return_inverse=True)
        ids = ids.ravel()
        old_ids, new_ids = ids[:height], ids[height:]
        order = np.argsort(old_ids, kind="stable")
        sorted_ids = old_ids[order]
        lo = np.searchsorted(sorted_ids, new_ids[voters], side="left")
        hi = np.searchsorted(sorted_ids, new_ids[voters], side="right")
        votes: Counter[int] = Counter()
        for y, a, b in zip(voters.tolist(), lo.tolist(), hi.tolist(), strict=True):
            if 0 < b - a <= _MAX_ROW_REPEATS:
                votes.update(int(src) - y for src in order[a:b].tolist() if src != y)
        best: tuple[int, Copy, Mask] | None = None
        x0, x1 = c0 * self.ppb, c1 * self.ppb
        for shift, count in votes.most_common(_SHIFTS_TRIED):
            if count < _MIN_COPY_ROWS:
                break
            span = self._copy_run(old_ids, new_ids, dirty_rows, shift)
            if span is None:
                continue
            y0, y1 = span
            work = mirror.copy()
            work[y0:y1, x0:x1] = mirror[y0 + shift : y1 + shift, x0:x1]
            rest = work != levels
            left = int(np.count_nonzero(rest))
            if best is None or left < best[0]:
                best = (left, Copy(x0, y0 + shift, x1 - x0, y1 - y0, x0, y0), rest)
        if best is None or best[0] >= int(np.count_nonzero(diff)):
            return None
        _, copy, rest = best
        return [copy, *self._blits(packed, rest)]

    def _estimate(self, packed: Levels, dirty: Mask) -> int:
        """About the link bytes of :meth:`_blits` for ``dirty``, without encoding."""
        byte_dirty = self._byte_mask(dirty)
        spans = dirty_spans(byte_dirty, packed)
        return sum(BLIT_OVERHEAD + coded_cost(packed[r0:r1, c0:c1]) for r0, r1, c0, c1 in spans)

    @staticmethod
    def _copy_run(
        old_ids: npt.NDArray[np.intp], new_ids: npt.NDArray[np.intp], dirty_rows: Mask, shift: int
    ) -> tuple[int, int] | None:
        """Target rows [y0, y1) to COPY from ``y + shift``: the run of rows the shift
        reproduces that fixes the most changed rows, trimmed to changed rows at both ends."""
        height = len(new_ids)
        lo, hi = max(0, -shift), min(height, height - shift)
        if hi - lo < 1:
            return None
        match = np.zeros(height, dtype=np.bool_)
        match[lo:hi] = new_ids[lo:hi] == old_ids[lo + shift : hi + shift]
        best: tuple[int, int] | None = None
        best_fixed = 0
        for r0, r1 in _runs(match):
            fixed = int(np.count_nonzero(dirty_rows[r0:r1]))
            if fixed > best_fixed:
                best, best_fixed = (r0, r1), fixed
        if best is None or best_fixed < _MIN_COPY_ROWS:
            return None
        r0, r1 = best
        y0, y1 = _extent(dirty_rows[r0:r1])
        return r0 + y0, r0 + y1

    def _byte_mask(self, mask: Mask) -> Mask:
        """(rows, packed bytes): whether any pixel of the byte is set in ``mask`` (rows, px).
        The ``ppb`` one-byte bools of a packed byte are read as one integer: no reduction."""
        words = np.ascontiguousarray(mask, dtype=np.bool_).view(_WORD_OF_PPB[self.ppb])
        return np.asarray(words != 0, dtype=np.bool_)

    def _check(self, target: npt.NDArray[np.integer]) -> Levels:
        if not (np.issubdtype(target.dtype, np.integer) or target.dtype == np.bool_):
            raise ValueError(f"levels must be integers, got {target.dtype}")
        if target.shape != (self.height_px, self.width_px):
            raise ValueError(
                f"target has shape {target.shape}, the display is "
                f"{self.height_px} rows x {self.width_px} columns"
            )
        if target.size and (int(target.min()) < 0 or int(target.max()) >= 1 << self.bpp):
            raise ValueError(f"levels must be 0..{(1 << self.bpp) - 1} at {self.bpp} bpp")
        return np.array(target, dtype=np.uint8, copy=True)

    def _blits(self, packed: Levels, dirty: Mask) -> list[Blit]:
        byte_dirty = self._byte_mask(dirty)
        out: list[Blit] = []
        for r0, r1, c0, c1 in dirty_spans(byte_dirty, packed):
            for s0 in range(c0, c1, self.budget):  # strips no wider than one payload
                out += self._encode(packed[r0:r1, s0 : min(s0 + self.budget, c1)], r0, s0)
        return out

    def _encode(self, rect: Levels, y: int, col: int) -> list[Blit]:
        """BLITs for one rectangle of packed bytes, cut into row chunks that fit a payload."""
        height, width = rect.shape
        rows = [rect[i].tobytes() for i in range(height)]
        coded = [packbits.encode(row) for row in rows]
        out: list[Blit] = []
        i = 0
        while i < height:
            j, raw_len, pb_len = i, 0, 0
            while j < height and (
                raw_len + width <= self.budget or pb_len + len(coded[j]) <= self.budget
            ):
                raw_len, pb_len, j = raw_len + width, pb_len + len(coded[j]), j + 1
            raw = b"".join(rows[i:j])
            # Row-by-row codes concatenate into a valid stream, so this one always fits.
            options = [(b"".join(coded[i:j]), Encoding.PACKBITS)]
            options.append((packbits.encode(raw), Encoding.PACKBITS))
            if raw_len <= self.budget:
                options.append((raw, Encoding.RAW))
            fitting = [o for o in options if len(o[0]) <= self.budget]
            data, enc = min(fitting, key=lambda o: len(o[0]))
            out.append(Blit(col * self.ppb, y + i, width * self.ppb, j - i, enc, data))
            i = j
        return out


def _wire_cost(msgs: list[Message]) -> int:
    """Approximate link bytes of a plan (the encoded payload plus per-frame overhead)."""
    total = 0
    for msg in msgs:
        if isinstance(msg, Blit):
            total += FRAME_OVERHEAD + BLIT_HEADER_LEN + len(msg.data)
        elif isinstance(msg, Copy):
            total += FRAME_OVERHEAD + COPY_PAYLOAD_LEN
        else:
            total += FRAME_OVERHEAD + 1
    return total


__all__ = ["BLIT_OVERHEAD", "Compositor", "dirty_spans"]
