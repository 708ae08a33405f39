"""Checks of the receive path (docs/protocol.md §3, §4): NAK on a bad CRC, idle fill,
resynchronisation after garbage and after an overflow, the non-canonical COBS form, and a
frame of exactly the announced ``max_payload``."""

from __future__ import annotations

from firmware_bridge.conformance.context import Check, Context
from firmware_bridge.conformance.peer import CheckFailed, CheckSkipped, encode_corrupt, is_nak
from firmware_bridge.protocol import (
    Blit,
    Encoding,
    Frame,
    MsgType,
    Reason,
    SetBrightness,
    cobs,
    encode_frame,
    encode_payload,
)
from firmware_bridge.protocol.frame import max_wire_len


def bad_crc_nak(ctx: Context) -> None:
    ctx.session()
    ctx.accept(SetBrightness(255), "SET_BRIGHTNESS")
    frame = Frame(MsgType.SET_BRIGHTNESS, ctx.peer.tx_next, 0, encode_payload(SetBrightness(9)))
    ctx.peer.write(encode_corrupt(frame), "SET_BRIGHTNESS seq 1 with a bad CRC")
    ctx.peer.until(
        lambda f: is_nak(f, Reason.BAD_CRC, 1), "NAK(ref_seq=1, BAD_CRC) for a frame with a bad CRC"
    )
    ctx.settle()  # the rejected frame consumed nothing: ack stays 1


def idle_fill(ctx: Context) -> None:
    ctx.session()
    ctx.peer.write(b"\x00" * 8, "00 x 8 (idle fill)")
    frames = ctx.settle()
    ctx.no_answer(frames, (MsgType.NAK, MsgType.ERROR), "idle fill ignored silently (§3.4)")


def resync_garbage(ctx: Context) -> None:
    ctx.session()
    ctx.peer.write(bytes.fromhex("112233") + b"\x00", "11 22 33 00 (garbage)")
    half = encode_frame(Frame(MsgType.SET_BRIGHTNESS, 0, 0, b"\x10"))[:6]
    ctx.peer.write(half, "the first 6 bytes of a SET_BRIGHTNESS frame")
    ctx.peer.write(b"\x00", "00 (ends the partial frame)")
    # PONG to the next frame, and nothing of the partial frame consumed (ack 0).
    ctx.settle("frames after garbage received normally", "3.4")


def overflow(ctx: Context) -> None:
    ctx.session()
    limit = max_wire_len(ctx.dev.max_payload) - 1  # the receive buffer of §3.6
    ctx.peer.write(b"\x78" * (limit + 16) + b"\x00", f"{limit + 16} non-zero bytes, then 00")
    ctx.settle("frames after an overflow received normally", "3.4")


def cobs_trailing_block(ctx: Context) -> None:
    """A BLIT whose COBS ends in a full 0xFF block, sent with the optional empty ``01``."""
    ctx.session()
    ppb = ctx.ppb
    if ctx.dev.width_px < 10 * ppb or ctx.dev.height_px < 25 or ctx.dev.max_payload < 259:
        raise CheckSkipped(
            "needs max_payload >= 259 and 10 bytes x 25 rows of panel to end a frame in a "
            "full COBS block"
        )
    # The encoding byte (0) is the last zero; 250 data bytes + the CRC make a 254-byte run.
    for fill in range(0x11, 0xFF):
        data = bytes([fill]) * 250
        frame = Frame(
            MsgType.BLIT,
            ctx.peer.tx_next,
            ctx.peer.rx_expected,
            encode_payload(Blit(0, 0, 10 * ppb, 25, Encoding.RAW, data)),
        )
        wire = encode_frame(frame)
        if 0 not in cobs.decode(wire[:-1])[-254:]:
            break  # a CRC without a zero byte: the frame ends in one full 0xFF block
    ctx.peer.write(wire[:-1] + b"\x01\x00", "BLIT 250 bytes, COBS ending FF .. 01 00")
    ctx.peer.tx_next += 1
    ctx.settle("the BLIT in the non-canonical COBS form", "3.3")


def max_payload(ctx: Context) -> None:
    """A PackBits BLIT padded with no-op bytes to exactly HELLO_ACK.max_payload."""
    ctx.session()
    dev = ctx.dev
    room = dev.max_payload - 9
    row_bytes = min(dev.width_px * dev.bpp // 8, 32)
    rows = min(dev.height_px, max(1, (room * 128 // 129) // row_bytes))
    size = row_bytes * rows
    data = bytes((i * 37 + 11) & 0xFF for i in range(size))
    stream = b"".join(
        bytes([len(c) - 1]) + c for c in (data[i : i + 128] for i in range(0, size, 128))
    )
    if len(stream) > room:
        raise CheckFailed("max_payload >= 64 (§3.6)", f"max_payload {dev.max_payload}", "3.6")
    stream += b"\x80" * (room - len(stream))  # no-op chunks (§10.1)
    blit = Blit(0, 0, row_bytes * ctx.ppb, rows, Encoding.PACKBITS, stream)
    assert len(encode_payload(blit)) == dev.max_payload
    ctx.accept(blit, f"a BLIT of exactly max_payload = {dev.max_payload} bytes", "3.6")


CHECKS = (
    Check("bad_crc_nak", "8.3", "bad CRC in a session: NAK(rx_expected, BAD_CRC)", bad_crc_nak),
    Check("idle_fill", "3.4", "runs of 00 ignored silently", idle_fill),
    Check(
        "resync_garbage",
        "3.4",
        "garbage and a cut frame: next frame received normally",
        resync_garbage,
    ),
    Check("overflow", "3.6", "longer than the receive buffer: discarded to the next 00", overflow),
    Check(
        "cobs_trailing_block",
        "3.3",
        "COBS with a final FF block then 01 accepted",
        cobs_trailing_block,
    ),
    Check("max_payload", "3.6", "a payload of exactly the announced max_payload", max_payload),
)
