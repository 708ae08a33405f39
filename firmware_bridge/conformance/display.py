"""Checks of the display commands (docs/protocol.md §9, §10): BLIT and COPY validation, and
with ``--screen`` the pixels themselves: BLIT RAW and PackBits, nothing written by a refused
command, PRESENT and CLEAR on the right buffer, COPY of overlapping rectangles."""

from __future__ import annotations

import numpy as np

from firmware_bridge.conformance.context import Check, Context
from firmware_bridge.protocol import (
    Blit,
    Clear,
    Copy,
    Encoding,
    MsgType,
    Reason,
    SetBrightness,
    Sleep,
    Wake,
    encode_payload,
    packbits,
)
from firmware_bridge.protocol.pixels import Levels, pack, unpack

RECT = (Reason.BAD_RECT,)
LENGTH = (Reason.BAD_LENGTH,)
ENCODING = (Reason.BAD_ENCODING,)


def pattern(ctx: Context, width_px: int, height_px: int, seed: int) -> Levels:
    """Random levels: every row differs from every other, so a misplaced row shows."""
    rng = np.random.default_rng(seed)
    top = (1 << ctx.dev.bpp) - 1
    levels: Levels = rng.integers(0, top + 1, (height_px, width_px), dtype=np.uint8)
    return levels


def draw(ctx: Context, x: int, y: int, levels: Levels, encoding: Encoding = Encoding.RAW) -> None:
    """BLIT ``levels`` at (x, y) in bands of rows that fit max_payload; the model follows."""
    h, w = levels.shape
    row = w * ctx.dev.bpp // 8
    band = max(1, (ctx.dev.max_payload - 9) // (row + row // 128 + 1))
    for top in range(0, h, band):
        part = levels[top : top + band]
        data = pack(part, ctx.dev.bpp)
        if encoding == Encoding.PACKBITS:
            data = packbits.encode(data)
        ctx.accept(Blit(x, y + top, w, part.shape[0], encoding, data), f"BLIT {encoding.name}")
    ctx.model[y : y + h, x : x + w] = levels


def clear(ctx: Context, level: int = 0) -> None:
    ctx.accept(Clear(level), f"CLEAR {level}")
    ctx.model[:] = level


def blit_invalid(ctx: Context) -> None:
    ctx.session()
    dev, p = ctx.dev, ctx.ppb
    w4 = 4 * p  # 4 bytes per row
    cases: list[tuple[bytes, tuple[Reason, ...], str]] = [
        (encode_payload(Blit(0, 0, w4, 1, 0, b""))[:8], LENGTH, "8-byte payload"),
        (encode_payload(Blit(0, 0, 0, 1, 0, b"")), RECT, "width 0"),
        (encode_payload(Blit(0, 0, w4, 0, 0, b"")), RECT, "height 0"),
        (encode_payload(Blit(1, 0, w4, 1, 0, bytes(4))), RECT, f"x=1 (not a multiple of {p})"),
        (encode_payload(Blit(0, 0, w4 + 1, 1, 0, bytes(5))), RECT, f"width {w4 + 1}"),
        (encode_payload(Blit(dev.width_px - p, 0, w4, 1, 0, bytes(4))), RECT, "x+w > width"),
        (encode_payload(Blit(0, dev.height_px - 1, w4, 2, 0, bytes(8))), RECT, "y+h > height"),
        (encode_payload(Blit(0x10000 - p, 0, w4, 1, 0, bytes(4))), RECT, "x+w past 65535"),
        (encode_payload(Blit(0, 0, w4, 1, 0, bytes(3))), LENGTH, "RAW data 1 byte short"),
        (encode_payload(Blit(0, 0, w4, 1, 0, bytes(5))), LENGTH, "RAW data 1 byte long"),
        (encode_payload(Blit(0, 0, w4, 1, 2, bytes(4))), ENCODING, "encoding 2"),
        (encode_payload(Blit(0, 0, w4, 1, 1, bytes.fromhex("FAAA"))), ENCODING, "PackBits overrun"),
        (encode_payload(Blit(0, 0, w4, 1, 1, bytes.fromhex("FEAA"))), ENCODING, "PackBits short"),
        (
            encode_payload(Blit(0, 0, w4, 1, 1, bytes.fromhex("031122"))),
            ENCODING,
            "PackBits truncated literal",
        ),
        (
            encode_payload(Blit(0, 0, w4, 1, 1, bytes.fromhex("00AAFE"))),
            ENCODING,
            "PackBits missing repeat value",
        ),
    ]
    for payload, reasons, what in cases:
        ctx.refuse(MsgType.BLIT, payload, reasons, f"a BLIT with {what}", "9.3")


def blit_readback(ctx: Context) -> None:
    ctx.session()
    clear(ctx)
    ctx.present_and_compare("an all-0 panel after CLEAR 0 and PRESENT", "9.4")
    p = ctx.ppb
    draw(ctx, 2 * p, 3, pattern(ctx, 8 * p, 6, 1))
    runs = np.repeat(pattern(ctx, 4 * p, 5, 2), 2, axis=1)  # runs that PackBits repeats
    draw(ctx, 0, 12, runs, Encoding.PACKBITS)
    # Hand-made chunks: a no-op, a repeat of 2 and a literal of 2 bytes (§10.1).
    raw = pack(pattern(ctx, 2 * p, 1, 3), ctx.dev.bpp)
    stream = b"\x80" + bytes([0xFF, raw[0], 1]) + raw
    ctx.accept(
        Blit(6 * p, 20, 2 * p, 2, Encoding.PACKBITS, stream),
        "BLIT with a no-op, a 2-byte repeat and a literal chunk",
    )
    ctx.model[20:22, 6 * p : 8 * p] = unpack(bytes([raw[0], raw[0]]) + raw, 2 * p, 2, ctx.dev.bpp)
    ctx.present_and_compare("the BLIT RAW and PackBits rectangles on the panel", "9.3")


def blit_atomic(ctx: Context) -> None:
    ctx.session()
    clear(ctx)
    p = ctx.ppb
    draw(ctx, 0, 0, pattern(ctx, 8 * p, 4, 4))
    ctx.present_and_compare("the pattern before the refused BLITs", "9.3")
    # PackBits that writes 4 good bytes, then overruns the 8-byte rectangle (pass 1, §10.2).
    stream = bytes([3, 0x11, 0x22, 0x33, 0x44, 0xFA, 0x55])
    ctx.refuse(
        MsgType.BLIT,
        encode_payload(Blit(0, 0, 8 * p, 1, 1, stream)),
        ENCODING,
        "PackBits that overruns after 4 bytes",
        "9.3",
    )
    ctx.refuse(
        MsgType.BLIT,
        encode_payload(Blit(0, 0, 8 * p, 2, 0, b"\x77" * 15)),
        LENGTH,
        "RAW data one byte short",
        "9.3",
    )
    ctx.refuse(
        MsgType.BLIT,
        encode_payload(Blit(0, ctx.dev.height_px - 1, 8 * p, 2, 0, b"\x77" * 16)),
        RECT,
        "a rectangle one row past the bottom",
        "9.3",
    )
    ctx.present_and_compare(
        "the panel unchanged by refused BLITs (validated before any write)", "9.3"
    )


def present_clear(ctx: Context) -> None:
    ctx.session()
    clear(ctx)
    p = ctx.ppb
    draw(ctx, 0, 0, pattern(ctx, 8 * p, 8, 5))
    ctx.present_and_compare("the pattern after PRESENT", "9.4")
    shown = ctx.model.copy()
    ctx.accept(Clear(1), "CLEAR 1")
    ctx.settle()
    model, ctx.model = ctx.model, shown
    ctx.compare("the front buffer unchanged by CLEAR before PRESENT", "9.4")
    ctx.model = model
    ctx.model[:] = 1
    ctx.present_and_compare("every pixel level 1 after CLEAR 1 and PRESENT", "9.4")
    draw(ctx, 4 * p, 4, pattern(ctx, 2 * p, 2, 6))
    ctx.present_and_compare("the back buffer kept across PRESENT (incremental update)", "9.4")
    ctx.session()
    ctx.present_and_compare(
        "the back buffer kept across a new HELLO (frame buffers are not part of the session)", "7.1"
    )


def copy_invalid(ctx: Context) -> None:
    ctx.session()
    dev, p = ctx.dev, ctx.ppb
    w, h = dev.width_px, dev.height_px
    cases: list[tuple[bytes, tuple[Reason, ...], str]] = [
        (encode_payload(Copy(0, 0, p, 1, 0, 0))[:11], LENGTH, "11-byte payload"),
        (encode_payload(Copy(0, 0, p, 1, 0, 0)) + b"\0", LENGTH, "13-byte payload"),
        (encode_payload(Copy(0, 0, 0, 1, 0, 0)), RECT, "width 0"),
        (encode_payload(Copy(0, 0, p, 0, 0, 0)), RECT, "height 0"),
        (encode_payload(Copy(1, 0, p, 1, 0, 0)), RECT, "src_x=1"),
        (encode_payload(Copy(0, 0, p, 1, 1, 0)), RECT, "dst_x=1"),
        (encode_payload(Copy(0, 0, p + 1, 1, 0, 0)), RECT, f"width {p + 1}"),
        (encode_payload(Copy(w - p, 0, 2 * p, 1, 0, 0)), RECT, "source past the right edge"),
        (encode_payload(Copy(0, h - 1, p, 2, 0, 0)), RECT, "source past the bottom"),
        (encode_payload(Copy(0, 0, 2 * p, 1, w - p, 0)), RECT, "destination past the right"),
        (encode_payload(Copy(0, 0, p, 2, 0, h - 1)), RECT, "destination past the bottom"),
        (encode_payload(Copy(0x10000 - p, 0, 2 * p, 1, 0, 0)), RECT, "src_x+w past 65535"),
    ]
    for payload, reasons, what in cases:
        ctx.refuse(MsgType.COPY, payload, reasons, f"a COPY with {what}", "9.6")


def copy_overlap(ctx: Context) -> None:
    ctx.session()
    clear(ctx)
    p = ctx.ppb
    width = min(ctx.dev.width_px, 16 * p)
    draw(ctx, 0, 0, pattern(ctx, width, min(ctx.dev.height_px, 24), 7))
    moves = [
        (Copy(0, 6, width, 16, 0, 2), "up by 4 rows (dst_y < src_y: rows top-down)"),
        (Copy(0, 2, width, 16, 0, 6), "down by 4 rows (dst_y > src_y: rows bottom-up)"),
        (Copy(0, 1, width - 2 * p, 8, 2 * p, 1), "right within the same rows (memmove)"),
        (Copy(2 * p, 3, width - 2 * p, 8, 0, 3), "left within the same rows (memmove)"),
    ]
    for move, what in moves:
        ctx.accept(move, "COPY")
        sy, sx, h, w = move.src_y, move.src_x, move.height_px, move.width_px
        ctx.model[move.dst_y : move.dst_y + h, move.dst_x : move.dst_x + w] = ctx.model[
            sy : sy + h, sx : sx + w
        ].copy()
        ctx.present_and_compare(f"COPY of overlapping rectangles {what}", "9.6")


def brightness_sleep(ctx: Context) -> None:
    ctx.session()
    for msg, what in (
        (SetBrightness(0), "SET_BRIGHTNESS 0"),
        (Sleep(), "SLEEP"),
        (Sleep(), "SLEEP while asleep"),
        (SetBrightness(128), "SET_BRIGHTNESS while asleep"),
        (Clear(0), "CLEAR while asleep"),
        (Wake(), "WAKE"),
        (Wake(), "WAKE while awake"),
        (SetBrightness(255), "SET_BRIGHTNESS 255"),
    ):
        ctx.accept(msg, what)


CHECKS = (
    Check("blit_invalid", "9.3", "BLIT rectangle, length and encoding errors", blit_invalid),
    Check("blit_readback", "9.3", "BLIT RAW and PackBits pixels", blit_readback, True),
    Check("blit_atomic", "9.3", "a refused BLIT writes nothing", blit_atomic, True),
    Check(
        "present_clear",
        "9.4",
        "PRESENT copies back to front; CLEAR fills back only; HELLO keeps both",
        present_clear,
        True,
    ),
    Check("copy_invalid", "9.6", "COPY length and rectangle errors", copy_invalid),
    Check("copy_overlap", "9.6", "COPY of overlapping rectangles, as memmove", copy_overlap, True),
    Check(
        "brightness_sleep", "9.5", "SET_BRIGHTNESS, SLEEP and WAKE in any state", brightness_sleep
    ),
)
