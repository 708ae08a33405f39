"""The compositor: its messages, applied by the shared decoders, reproduce every target."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_link_fakes import ModelScreen

from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.frame import Frame, encode_frame
from firmware_bridge.protocol.messages import BLIT_HEADER_LEN
from firmware_bridge.screen import ScreenEncoder
from glasses.display.compositor import Compositor, coded_cost, dirty_spans

Levels = npt.NDArray[np.uint8]


def wire_bytes(msgs: list[m.Message]) -> int:
    return sum(
        len(encode_frame(Frame(type=x.TYPE, seq=1, ack=1, payload=m.encode_payload(x))))
        for x in msgs
    )


def apply(screen: ModelScreen, msgs: list[m.Message], max_payload: int) -> None:
    for msg in msgs:
        assert len(m.encode_payload(msg)) <= max_payload
        screen.apply(msg)


@st.composite
def screens(draw: st.DrawFn) -> tuple[int, int, int, int, list[Levels]]:
    bpp = draw(st.sampled_from([1, 2, 4]))
    ppb = 8 // bpp
    width = ppb * draw(st.integers(1, 12))
    height = draw(st.integers(1, 20))
    max_payload = draw(st.sampled_from([BLIT_HEADER_LEN + 1, BLIT_HEADER_LEN + 3, 40, 64, 4096]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = 1 << bpp
    current = np.full((height, width), draw(st.integers(0, top - 1)), np.uint8)
    frames = []
    for _ in range(draw(st.integers(1, 6))):
        current = current.copy()
        for _ in range(draw(st.integers(0, 4))):  # a few rectangles of noise or of one level
            y0, x0 = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
            y1, x1 = draw(st.integers(y0 + 1, height)), draw(st.integers(x0 + 1, width))
            if draw(st.booleans()):
                current[y0:y1, x0:x1] = rng.integers(0, top, (y1 - y0, x1 - x0))
            else:
                current[y0:y1, x0:x1] = draw(st.integers(0, top - 1))
        frames.append(current)
    return width, height, bpp, max_payload, frames


@settings(max_examples=150, deadline=None)
@given(screens())
def test_updates_reproduce_every_target(case: tuple[int, int, int, int, list[Levels]]) -> None:
    width, height, bpp, max_payload, frames = case
    comp = Compositor(width, height, bpp, max_payload)
    device = ModelScreen(width, height, bpp)
    device.back[:] = (1 << bpp) - 1  # the device's content is unknown to a new compositor
    last_id = 0
    for target in frames:
        msgs = comp.update(target)
        if not msgs:
            assert np.array_equal(device.front, target)
            continue
        assert isinstance(msgs[-1], m.Present) and msgs[-1].frame_id == last_id + 1
        assert not any(isinstance(x, m.Present) for x in msgs[:-1])
        last_id += 1
        apply(device, msgs, max_payload)  # ModelScreen checks alignment and bounds
        assert np.array_equal(device.front, target)
        assert comp.mirror is not None and np.array_equal(comp.mirror, target)
    assert comp.update(frames[-1].copy()) == []


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_dirty_spans_cover_the_mask_within_bounds(data: st.DataObject) -> None:
    rows, cols = data.draw(st.integers(1, 30)), data.draw(st.integers(1, 30))
    flat = data.draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols))
    mask = np.array(flat, dtype=np.bool_).reshape(rows, cols)
    covered = np.zeros_like(mask)
    for r0, r1, c0, c1 in dirty_spans(mask):
        assert 0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols
        covered[r0:r1, c0:c1] = True
    assert not (mask & ~covered).any()


def test_rectangles_are_aligned_to_whole_bytes() -> None:
    comp = Compositor(64, 8, 1, 4096)
    target = np.zeros((8, 64), np.uint8)
    comp.update(target)
    target[3, 13] = 1  # one pixel: the BLIT widens to the byte holding it
    blit, present = comp.update(target)
    assert isinstance(blit, m.Blit) and isinstance(present, m.Present)
    assert (blit.x, blit.y, blit.width_px, blit.height_px) == (8, 3, 8, 1)


def test_payload_limit_splits_rows_and_columns() -> None:
    comp = Compositor(64, 16, 4, BLIT_HEADER_LEN + 8)  # 8 bytes = 16 px per BLIT
    noise = np.random.default_rng(1).integers(0, 16, (16, 64), dtype=np.uint8)
    msgs = comp.update(noise)
    blits = [x for x in msgs if isinstance(x, m.Blit)]
    assert all(len(x.data) <= 8 for x in blits)
    assert {x.width_px for x in blits} == {16} and len(blits) == 4 * 16
    device = ModelScreen(64, 16, 4)
    apply(device, msgs, BLIT_HEADER_LEN + 8)
    assert np.array_equal(device.front, noise)


def test_raw_or_packbits_whichever_is_smaller() -> None:
    comp = Compositor(256, 4, 4, 4096)
    base = np.zeros((4, 256), np.uint8)
    comp.update(base)
    noise = np.random.default_rng(2).integers(0, 16, (4, 256), dtype=np.uint8)
    (blit, _) = comp.update(noise)
    assert isinstance(blit, m.Blit) and blit.encoding == m.Encoding.RAW
    stripes = np.zeros((4, 256), np.uint8)
    stripes[1, :] = 5
    stripes[2, :] = 9
    msgs = comp.update(stripes)
    assert all(x.encoding == m.Encoding.PACKBITS for x in msgs if isinstance(x, m.Blit))
    assert wire_bytes(msgs) < 80


def test_uniform_screen_is_one_clear() -> None:
    comp = Compositor(640, 400, 4, 4096)
    assert comp.update(np.full((400, 640), 7, np.uint8)) == [m.Clear(7), m.Present(1)]
    assert comp.update(np.zeros((400, 640), np.uint8)) == [m.Clear(0), m.Present(2)]


def test_no_change_sends_nothing() -> None:
    comp = Compositor(16, 4, 2, 64)
    target = np.ones((4, 16), np.uint8)
    assert comp.update(target)
    assert comp.update(target.copy()) == []
    comp.forget()
    assert comp.update(target)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 2"):
        Compositor(15, 4, 4, 64)
    with pytest.raises(ValueError, match="bits per pixel"):
        Compositor(16, 4, 3, 64)
    with pytest.raises(ValueError, match="no room"):
        Compositor(16, 4, 4, BLIT_HEADER_LEN)
    comp = Compositor(16, 4, 2, 64)
    with pytest.raises(ValueError, match="shape"):
        comp.update(np.zeros((4, 8), np.uint8))
    with pytest.raises(ValueError, match=r"0\.\.3"):
        comp.update(np.full((4, 16), 4, np.uint8))


def test_for_device_follows_the_hello_ack() -> None:
    ack = m.HelloAck(1, 1, 1, 576, 136, 1, 1024, 4, (0, 2, 1), 7, "strip")
    comp: ScreenEncoder = Compositor.for_device(ack)
    assert isinstance(comp, Compositor)
    assert (comp.width_px, comp.height_px, comp.bpp, comp.budget) == (576, 136, 1, 1015)


def test_cost_estimate_tracks_packbits() -> None:
    from firmware_bridge.protocol import packbits

    rng = np.random.default_rng(4)
    for block in (
        np.zeros((8, 40), np.uint8),
        rng.integers(0, 256, (8, 40), dtype=np.uint8),
        np.repeat(rng.integers(0, 4, (8, 10), dtype=np.uint8), 4, axis=1),
    ):
        real = min(block.size, len(packbits.encode(block.tobytes())))
        assert abs(coded_cost(block) - real) <= 2 + real // 20


def synthetic_caption(lines: list[int], height: int = 400, width: int = 640) -> Levels:
    """Text-like levels without fonts: line ``i`` of ``lines`` seeds glyph-ish noise blocks."""
    out = np.zeros((height, width), np.uint8)
    for row, seed in enumerate(lines):
        rng = np.random.default_rng(seed)
        y = 260 + row * 44
        x = 16
        while x < width - 40:
            w = int(rng.integers(8, 22))
            glyph = rng.integers(0, 16, (30, w), dtype=np.uint8) * (rng.random((30, w)) < 0.35)
            out[y : y + 30, x : x + w] = glyph
            x += w + int(rng.integers(2, 14))
    return out


def test_one_new_caption_line_costs_little() -> None:
    full_raw = 640 * 400 * 4 // 8
    comp = Compositor(640, 400, 4, 4096)
    comp.update(synthetic_caption([1, 2, 3]))
    only_last = wire_bytes(comp.update(synthetic_caption([1, 2, 4])))
    scrolled = wire_bytes(comp.update(synthetic_caption([2, 4, 5])))
    assert only_last < 0.10 * full_raw / 1.5
    assert scrolled < 3.2 * only_last, "a scroll resends three lines, not the screen"


def test_one_new_caption_line_with_the_real_renderer() -> None:
    raster = pytest.importorskip("glasses.display.raster")
    geometry = pytest.importorskip("glasses.display.geometry")
    try:
        renderer = raster.Renderer(geometry.DisplayGeometry(640, 400, 4))
    except Exception as exc:  # no usable font on this machine
        pytest.skip(f"renderer unavailable: {exc}")
    lines = ["the first caption line here", "a second line of caption", "third line, then"]
    full_raw = 640 * 400 * 4 // 8
    comp = Compositor(640, 400, 4, 4096)
    comp.update(renderer.render_text("\n".join(lines)))
    changed = wire_bytes(comp.update(renderer.render_text("\n".join([*lines[:2], "new words"]))))
    scrolled = wire_bytes(comp.update(renderer.render_text("\n".join([*lines[1:], "new words"]))))
    assert changed < 0.05 * full_raw
    assert scrolled < 0.10 * full_raw
