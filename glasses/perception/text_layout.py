"""Putting recognised text lines into reading order: rows top to bottom, left to right in a row.

Pure geometry on the detector's quadrilaterals.  A hand-held or head-worn camera is rarely
level, so the page's skew is estimated from the boxes' top edges and undone before grouping:
on a sign tilted by 8 degrees the right end of the first row can sit lower than the left end of
the second, and sorting raw centres would interleave the two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]  # top-left, top-right, bottom-right, bottom-left

MAX_SKEW_DEG = 30.0  # beyond this a box's "top" is ambiguous; leave the page as it is


@dataclass(frozen=True)
class TextLine:
    """One detected run of text, in the pixel coordinates of the original image."""

    text: str
    confidence: float
    box: Quad

    @property
    def centre(self) -> Point:
        return (sum(p[0] for p in self.box) / 4.0, sum(p[1] for p in self.box) / 4.0)

    @property
    def width(self) -> float:
        (x0, y0), (x1, y1) = self.box[0], self.box[1]
        return math.hypot(x1 - x0, y1 - y0)

    @property
    def height(self) -> float:
        (x0, y0), (x3, y3) = self.box[0], self.box[3]
        (x1, y1), (x2, y2) = self.box[1], self.box[2]
        return (math.hypot(x3 - x0, y3 - y0) + math.hypot(x2 - x1, y2 - y1)) / 2.0

    @property
    def angle_deg(self) -> float:
        """Slope of the top edge; positive when the right end is lower (image y points down)."""
        (x0, y0), (x1, y1) = self.box[0], self.box[1]
        return math.degrees(math.atan2(y1 - y0, x1 - x0))


def estimate_skew_deg(lines: Sequence[TextLine]) -> float:
    """Length-weighted median slope of the lines that are wider than tall (their slope is reliable)."""
    samples = sorted(
        (line.angle_deg, line.width)
        for line in lines
        if line.width > line.height and abs(line.angle_deg) <= MAX_SKEW_DEG
    )
    if not samples:
        return 0.0
    half = sum(w for _, w in samples) / 2.0
    running = 0.0
    for angle, weight in samples:
        running += weight
        if running >= half:
            return angle
    return samples[-1][0]  # pragma: no cover - the loop always reaches half


def group_rows(lines: Sequence[TextLine], *, min_overlap: float = 0.5) -> list[list[TextLine]]:
    """Rows in reading order, each sorted left to right, after undoing the page's skew.

    A line joins a row when their vertical extents (in the de-skewed frame) overlap by at least
    ``min_overlap`` of the smaller height: robust to mixed font sizes on one row ("出口 EXIT").
    """
    theta = math.radians(estimate_skew_deg(lines))
    cos, sin = math.cos(theta), math.sin(theta)

    def deskew(p: Point) -> Point:  # rotate by -theta
        return (p[0] * cos + p[1] * sin, -p[0] * sin + p[1] * cos)

    placed: list[tuple[float, float, float, TextLine]] = []  # top, bottom, x, line
    for line in lines:
        corners = [deskew(p) for p in line.box]
        ys = [c[1] for c in corners]
        placed.append((min(ys), max(ys), sum(c[0] for c in corners) / 4.0, line))
    placed.sort(key=lambda item: (item[0] + item[1]) / 2.0)

    rows: list[list[tuple[float, float, float, TextLine]]] = []
    for item in placed:
        top, bottom = item[0], item[1]
        best, best_overlap = None, 0.0
        for row in rows:
            row_top = sum(r[0] for r in row) / len(row)
            row_bottom = sum(r[1] for r in row) / len(row)
            overlap = min(bottom, row_bottom) - max(top, row_top)
            smaller = max(1e-6, min(bottom - top, row_bottom - row_top))
            if overlap / smaller >= min_overlap and overlap / smaller > best_overlap:
                best, best_overlap = row, overlap / smaller
        if best is None:
            rows.append([item])
        else:
            best.append(item)
    rows.sort(key=lambda row: sum(r[0] + r[1] for r in row) / (2.0 * len(row)))
    return [[r[3] for r in sorted(row, key=lambda r: r[2])] for row in rows]


def reading_order(lines: Sequence[TextLine]) -> list[TextLine]:
    """The lines flattened row by row."""
    return [line for row in group_rows(lines) for line in row]


def row_text(row: Sequence[TextLine]) -> str:
    return " ".join(line.text.strip() for line in row if line.text.strip())
