"""OCR: real PP-OCR on signs drawn in Noto Sans CJK; reading order, dedup and the worker."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from perception_support.signs import blur, draw, ocr_engine, perspective, rotate, words

from glasses.perception.ocr import OcrResult
from glasses.perception.ocr_worker import OcrWorker
from glasses.perception.text_dedup import DedupConfig, TextDeduplicator, normalise
from glasses.perception.text_layout import TextLine, estimate_skew_deg, group_rows, reading_order
from glasses.sources.camera import Frame


def rows_text(result: OcrResult) -> list[str]:
    return [words("".join(line.text for line in row)) for row in result.rows]


# -- real recognition ---------------------------------------------------------------------------


def test_exit_sign() -> None:
    result = ocr_engine().recognize(draw([[(60, "出口 EXIT")]], size=(640, 360), font_px=64))
    assert rows_text(result) == ["出口EXIT"]
    assert all(line.confidence > 0.8 for line in result.lines)


def test_two_line_sign_in_reading_order() -> None:
    image = draw([[(40, "西湖 West Lake")], [(40, "出口 EXIT")]], size=(640, 320))
    result = ocr_engine().recognize(image)
    assert rows_text(result) == ["西湖WestLake", "出口EXIT"]
    first = result.lines[0]
    assert first.box[0][1] < 100 and first.box[0][0] < 100  # boxes in image pixels


def test_skewed_two_column_menu_reads_row_by_row() -> None:
    menu = [
        [(40, "咖啡 Coffee"), (640, "18")],
        [(40, "绿茶 Green tea"), (640, "12")],
        [(40, "蛋糕 Cake"), (640, "25")],
    ]
    image = rotate(draw(menu, size=(800, 420), font_px=48, top=40), 7.0)
    result = ocr_engine().recognize(image)
    assert rows_text(result) == ["咖啡Coffee18", "绿茶Greentea12", "蛋糕Cake25"]


def test_perspective_and_slight_blur_still_read() -> None:
    image = blur(
        perspective(draw([[(40, "西湖 West Lake")], [(40, "出口 EXIT")]], size=(640, 320))), 1.2
    )
    assert rows_text(ocr_engine().recognize(image)) == ["西湖WestLake", "出口EXIT"]


def test_large_frames_are_shrunk_but_boxes_stay_in_frame_pixels() -> None:
    import cv2

    small = draw([[(60, "出口 EXIT")]], size=(640, 360), font_px=64)
    big = cv2.resize(small, (2080, 1170), interpolation=cv2.INTER_CUBIC)
    result = ocr_engine().recognize(big)
    assert result.scale == pytest.approx(1280 / 2080)
    assert rows_text(result) == ["出口EXIT"]
    xs = [x for line in result.lines for x, _ in line.box]
    assert max(xs) > 1000  # coordinates were scaled back to the 2080-pixel frame


def test_blank_image_has_no_text() -> None:
    assert ocr_engine().recognize(np.full((200, 300, 3), 255, dtype=np.uint8)).rows == ()


# -- reading order (pure) -----------------------------------------------------------------------


def box(x: float, y: float, w: float, h: float, angle_deg: float = 0.0) -> tuple:
    """A w x h box with top-left at (x, y), rotated by angle_deg around that corner."""
    import math

    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    return tuple((x + px * c - py * s, y + px * s + py * c) for px, py in corners)


def line(text: str, x: float, y: float, w: float = 100, h: float = 30, a: float = 0.0) -> TextLine:
    return TextLine(text, 0.9, box(x, y, w, h, a))


def test_rows_top_to_bottom_and_left_to_right() -> None:
    lines = [line("d", 300, 100), line("a", 10, 12), line("c", 10, 100), line("b", 300, 8)]
    assert [t.text for t in reading_order(lines)] == ["a", "b", "c", "d"]


def test_skew_is_undone_before_grouping() -> None:
    # Rows tilted down to the right by 10 degrees: the right item of row 1 is lower than the
    # left item of row 2 (y 88 vs 80), yet they belong to different rows.
    a = 10.0
    drop = 500 * np.tan(np.radians(a))
    lines = [
        line("row1-left", 0, 0, 200, 30, a),
        line("row1-right", 500, drop, 200, 30, a),
        line("row2-left", 0, 80, 200, 30, a),
        line("row2-right", 500, 80 + drop, 200, 30, a),
    ]
    assert estimate_skew_deg(lines) == pytest.approx(a)
    assert [[t.text for t in row] for row in group_rows(lines)] == [
        ["row1-left", "row1-right"],
        ["row2-left", "row2-right"],
    ]


def test_mixed_sizes_on_one_row_stay_together() -> None:
    lines = [line("EXIT", 200, 20, 120, 40), line("出口", 0, 0, 180, 80), line("below", 0, 120)]
    assert [[t.text for t in row] for row in group_rows(lines)] == [["出口", "EXIT"], ["below"]]


# -- dedup (pure) -------------------------------------------------------------------------------


def test_text_seen_in_consecutive_frames_is_reported_once() -> None:
    dedup = TextDeduplicator(DedupConfig(memory_frames=5))
    exit_sign = [line("出口 EXIT", 0, 0)]
    assert dedup.filter(0, exit_sign) == exit_sign
    assert dedup.filter(1, exit_sign) == []
    assert dedup.filter(2, [line("出口 EXlT", 0, 0)]) == []  # OCR noise: l for I
    both = [line("出口 EXIT", 0, 0), line("West Lake", 0, 50)]
    assert [t.text for t in dedup.filter(3, both)] == ["West Lake"]
    assert [t.text for t in dedup.filter(20, exit_sign)] == ["出口 EXIT"]  # forgotten, said again


def test_same_text_twice_in_one_frame_and_short_words() -> None:
    dedup = TextDeduplicator()
    assert len(dedup.filter(0, [line("EXIT", 0, 0), line("exit", 0, 50)])) == 1
    assert len(dedup.filter(1, [line("出口", 0, 0)])) == 1
    assert [t.text for t in dedup.filter(2, [line("出口", 0, 0), line("入口", 0, 50)])] == ["入口"]
    assert normalise(" West-Lake! ") == "westlake"


# -- worker -------------------------------------------------------------------------------------


class SlowEngine:
    def __init__(self) -> None:
        self.seen: list[int] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def recognize(self, image: np.ndarray) -> OcrResult:
        self.entered.set()
        self.gate.wait(5.0)
        self.seen.append(int(image[0, 0, 0]))
        text = [TextLine(f"frame {int(image[0, 0, 0])}", 0.9, box(0, 0, 50, 10))]
        return OcrResult((tuple(text),), 4, 4, 1.0, 0.0)


def frame(i: int) -> Frame:
    return Frame(np.full((4, 4, 3), i, dtype=np.uint8), i, time.monotonic())


def test_worker_never_blocks_and_the_newest_frame_wins() -> None:
    engine = SlowEngine()
    worker = OcrWorker(engine)  # type: ignore[arg-type]
    worker.submit(frame(0))
    assert engine.entered.wait(5.0)  # frame 0 is now being recognised (held at the gate)
    started = time.monotonic()
    for i in range(1, 6):
        worker.submit(frame(i))
    assert time.monotonic() - started < 0.05  # submitting never waits for recognition
    engine.gate.set()
    assert worker.wait_idle(5.0)
    worker.close()
    assert engine.seen == [0, 5]  # frames 1..4 were superseded while 0 was being read
    stats = worker.stats()
    assert (stats.submitted, stats.replaced, stats.processed) == (6, 4, 2)
    updates = [worker.get(0.1), worker.get(0.1)]
    assert [u.frame_index for u in updates if u] == [0, 5]


def test_worker_applies_dedup_and_survives_engine_errors() -> None:
    class Flaky(SlowEngine):
        def recognize(self, image: np.ndarray) -> OcrResult:
            if int(image[0, 0, 0]) == 1:
                raise RuntimeError("ORT failed")
            return OcrResult(((TextLine("EXIT", 0.9, box(0, 0, 50, 10)),),), 4, 4, 1.0, 0.0)

    got = []
    worker = OcrWorker(Flaky(), dedup=TextDeduplicator(), on_update=got.append)  # type: ignore[arg-type]
    for i in range(3):
        worker.submit(frame(i))
        assert worker.wait_idle(5.0)
    worker.close()
    assert [len(u.new_lines) for u in got] == [1, 0]
    assert worker.stats().failed == 1 and isinstance(worker.last_error, RuntimeError)
