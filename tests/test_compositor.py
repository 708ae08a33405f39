"""The compositor: its messages, applied by the shared decoders, reproduce every target."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_link_fakes import ModelScreen

from firmware_bridge.compositor import Compositor, coded_cost, dirty_spans
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.frame import Frame, encode_frame
from firmware_bridge.protocol.messages import BLIT_HEADER_LEN
from firmware_bridge.screen import ScreenEncoder

pytestmark = pytest.mark.fast

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
    if draw(st.booleans()):
        current = np.full((height, width), draw(st.integers(0, top - 1)), np.uint8)
    else:  # content that a scroll can move
        current = rng.integers(0, top, (height, width), dtype=np.uint8)
    frames = []
    for _ in range(draw(st.integers(1, 6))):
        current = current.copy()
        if draw(st.integers(0, 3)) == 0:  # nothing but a scroll, as captions do
            kinds = ["scroll"]
        else:  # rectangles of noise or one level, scrolls
            kinds = draw(st.lists(st.sampled_from(["noise", "level", "scroll"]), max_size=4))
        for kind in kinds:
            y0, x0 = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
            y1, x1 = draw(st.integers(y0 + 1, height)), draw(st.integers(x0 + 1, width))
            if kind == "noise":
                current[y0:y1, x0:x1] = rng.integers(0, top, (y1 - y0, x1 - x0))
            elif kind == "level":
                current[y0:y1, x0:x1] = draw(st.integers(0, top - 1))
            elif y1 - y0 > 1:  # the rectangle's content moves up or down, new rows of noise
                if draw(st.booleans()):  # whole bytes, as text boxes on a plain background are
                    x0, x1 = x0 // ppb * ppb, -(-x1 // ppb) * ppb
                d = draw(st.integers(1, y1 - y0 - 1)) * draw(st.sampled_from([1, -1]))
                old = current[y0:y1, x0:x1].copy()
                new = rng.integers(0, top, old.shape)
                if d > 0:
                    new[:-d] = old[d:]
                else:
                    new[-d:] = old[:d]
                current[y0:y1, x0:x1] = new
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


@st.composite
def scrolls(draw: st.DrawFn) -> tuple[int, int, int, list[Levels]]:
    """Larger screens whose content mostly scrolls (a box moving up or down by a few rows,
    new rows of noise entering), sometimes with other changes in the same update."""
    bpp = draw(st.sampled_from([1, 2, 4]))
    ppb = 8 // bpp
    width, height = ppb * draw(st.integers(8, 40)), draw(st.integers(8, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = 1 << bpp
    current = rng.integers(0, top, (height, width), dtype=np.uint8)
    if draw(st.booleans()):
        current[:, : draw(st.integers(0, width))] = 0  # a plain margin
    frames = [current]
    for _ in range(draw(st.integers(1, 4))):
        current = current.copy()
        y0 = draw(st.integers(0, height - 2))
        y1 = draw(st.integers(y0 + 2, height))
        x0 = ppb * draw(st.integers(0, width // ppb - 1))
        x1 = ppb * draw(st.integers(x0 // ppb + 1, width // ppb))
        d = draw(st.integers(1, max(1, (y1 - y0) // 3))) * draw(st.sampled_from([1, -1]))
        box = current[y0:y1, x0:x1]
        moved = rng.integers(0, top, box.shape, dtype=np.uint8)
        if d > 0:
            moved[:-d] = box[d:]
        else:
            moved[-d:] = box[:d]
        current[y0:y1, x0:x1] = moved
        if draw(st.booleans()):  # something else changes too, anywhere
            ry, rx = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
            current[ry : ry + 3, rx : rx + 5] = draw(st.integers(0, top - 1))
        frames.append(current)
    return width, height, bpp, frames


@settings(max_examples=100, deadline=None)
@given(scrolls(), st.sampled_from([64, 300, 4096]))
def test_scrolls_reproduce_exactly_and_copy_never_costs_more(
    case: tuple[int, int, int, list[Levels]], max_payload: int
) -> None:
    width, height, bpp, frames = case
    comp = Compositor(width, height, bpp, max_payload)
    plain = Compositor(width, height, bpp, max_payload, use_copy=False)
    device = ModelScreen(width, height, bpp)
    for target in frames:
        msgs = comp.update(target)
        without = plain.update(target)
        assert not any(isinstance(x, m.Copy) for x in without)
        assert sum(isinstance(x, m.Copy) for x in msgs) <= 1
        # Plans are compared by an estimate that leaves out COBS (a byte per 254).
        assert wire_bytes(msgs) <= wire_bytes(without) + 2 * len(without)
        apply(device, msgs, max_payload)
        assert np.array_equal(device.front, target)
        assert comp.mirror is not None and np.array_equal(comp.mirror, target)


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
    msgs = comp.update(synthetic_caption([2, 4, 5]))
    scrolled = wire_bytes(msgs)
    assert only_last < 0.10 * full_raw / 1.5
    # Lines 2 and 3 move up one line (44 px) on the device; only the new line is sent.
    copies = [x for x in msgs if isinstance(x, m.Copy)]
    assert len(copies) == 1 and copies[0].src_y - copies[0].dst_y == 44
    assert scrolled < 1.2 * only_last, "a scroll sends the new line, not three"
    device = ModelScreen(640, 400, 4)
    apply(device, Compositor(640, 400, 4, 4096).update(synthetic_caption([1, 2, 4])), 4096)
    apply(device, msgs, 4096)
    assert np.array_equal(device.front, synthetic_caption([2, 4, 5]))


def noise_rows(rows: int, width: int, seed: int, top: int = 16) -> Levels:
    return np.random.default_rng(seed).integers(0, top, (rows, width), dtype=np.uint8)


@pytest.mark.parametrize("shift", [7, -7, 1, -1, 30])
def test_a_vertical_scroll_is_one_copy_and_the_new_rows(shift: int) -> None:
    """Content moving up (shift > 0) or down: one COPY, then only the rows that are new."""
    width, height = 96, 60
    old = np.zeros((height, width), np.uint8)
    old[10:50, 8:88] = noise_rows(40, 80, 1)  # a text box between margins
    new = np.zeros_like(old)
    new[10:50, 8:88] = noise_rows(40, 80, 2)
    if shift > 0:
        new[10 : 50 - shift, 8:88] = old[10 + shift : 50, 8:88]
    else:
        new[10 - shift : 50, 8:88] = old[10 : 50 + shift, 8:88]
    comp = Compositor(width, height, 4, 4096)
    device = ModelScreen(width, height, 4)
    apply(device, comp.update(old), 4096)
    msgs = comp.update(new)
    apply(device, msgs, 4096)
    assert np.array_equal(device.front, new)
    copy, *blits, _ = msgs
    assert isinstance(copy, m.Copy)
    assert (copy.src_y - copy.dst_y, copy.height_px) == (shift, 40 - abs(shift))
    assert (copy.src_x, copy.dst_x, copy.width_px) == (8, 8, 80)
    assert all(isinstance(x, m.Blit) for x in blits)
    assert sum(x.height_px for x in blits if isinstance(x, m.Blit)) == abs(shift)


def test_copy_only_when_it_saves_bytes() -> None:
    comp = Compositor(64, 32, 4, 4096)
    comp.update(noise_rows(32, 64, 3))
    msgs = comp.update(noise_rows(32, 64, 4))  # nothing moved: nothing to copy
    assert not any(isinstance(x, m.Copy) for x in msgs)
    # Uniform rows (background) match at any shift and must not make a COPY.
    comp = Compositor(64, 32, 4, 4096)
    base = np.zeros((32, 64), np.uint8)
    base[::4] = 3
    comp.update(base)
    msgs = comp.update(np.roll(base, 1, axis=0))
    assert not any(isinstance(x, m.Copy) for x in msgs)


def test_a_scroll_next_to_other_changes_reproduces_exactly() -> None:
    width, height = 128, 80
    old = np.zeros((height, width), np.uint8)
    old[40:76, 16:112] = noise_rows(36, 96, 5)
    old[2:10, 0:40] = noise_rows(8, 40, 6)  # a status bar
    new = old.copy()
    new[40:64, 16:112] = old[52:76, 16:112]  # three 12-row lines scroll up by one
    new[64:76, 16:112] = noise_rows(12, 96, 7)
    new[2:10, 0:40] = noise_rows(8, 40, 8)  # the status bar changes too
    comp = Compositor(width, height, 4, 256)
    device = ModelScreen(width, height, 4)
    apply(device, comp.update(old), 256)
    plain = Compositor(width, height, 4, 256, use_copy=False)
    plain.update(old)
    msgs = comp.update(new)
    apply(device, msgs, 256)
    assert np.array_equal(device.front, new)
    assert sum(isinstance(x, m.Copy) for x in msgs) == 1
    without_copy = plain.update(new)
    assert not any(isinstance(x, m.Copy) for x in without_copy)
    assert wire_bytes(msgs) < wire_bytes(without_copy) / 2


@pytest.mark.process
def test_one_new_caption_line_with_the_real_renderer() -> None:
    raster = pytest.importorskip("glasses.display.raster")
    geometry = pytest.importorskip("firmware_bridge.protocol.geometry")
    try:
        renderer = raster.Renderer(geometry.DisplayGeometry(640, 400, 4))
    except Exception as exc:  # no usable font on this machine
        pytest.skip(f"renderer unavailable: {exc}")
    lines = ["the first caption line here", "a second line of caption", "third line, then"]
    full_raw = 640 * 400 * 4 // 8
    comp = Compositor(640, 400, 4, 4096)
    comp.update(renderer.render_text("\n".join(lines)))
    changed = wire_bytes(comp.update(renderer.render_text("\n".join([*lines[:2], "new words"]))))
    msgs = comp.update(renderer.render_text("\n".join([*lines[1:], "new words"])))
    assert changed < 0.05 * full_raw
    assert sum(isinstance(x, m.Copy) for x in msgs) == 1, "the two lines that stay are moved"
    assert wire_bytes(msgs) < 0.05 * full_raw
