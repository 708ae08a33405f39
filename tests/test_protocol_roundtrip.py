"""Property tests of the link protocol v1 codec (docs/protocol.md): every message, COBS,
PackBits and the pixel packing round-trip, and the frame decoder resynchronises."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from firmware_bridge.protocol import (
    Ack,
    Blit,
    Clear,
    Copy,
    EnterBootloader,
    Error,
    Event,
    Frame,
    FrameDecoder,
    FrameError,
    Hello,
    HelloAck,
    Log,
    Message,
    MsgType,
    Nak,
    Ping,
    Pong,
    Present,
    Reset,
    SetBrightness,
    Sleep,
    Wake,
    cobs,
    decode_payload,
    encode_frame,
    encode_payload,
    max_wire_len,
    packbits,
    pixels,
)
from firmware_bridge.protocol.messages import MAX_BOARD_ID_LEN

pytestmark = pytest.mark.fast

FAST = settings(max_examples=150, deadline=None)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
i16 = st.integers(-0x8000, 0x7FFF)
text = st.text(max_size=200)  # Hypothesis leaves out lone surrogates, which UTF-8 cannot carry
ascii_id = st.text(st.characters(max_codepoint=0x7F), max_size=MAX_BOARD_ID_LEN)

# One strategy per message type, over every value its fields may carry on the wire.
MESSAGES: dict[MsgType, st.SearchStrategy[Message]] = {
    MsgType.ACK: st.just(Ack()),
    MsgType.HELLO: st.builds(Hello, u8, u8, u16, u32),
    MsgType.HELLO_ACK: st.builds(
        HelloAck, u8, u8, u8, u16, u16, u8, u16, u8, st.tuples(u8, u8, u8), u32, ascii_id
    ),
    MsgType.PING: st.builds(Ping, u32),
    MsgType.PONG: st.builds(Pong, u32),
    MsgType.NAK: st.builds(Nak, u8, u8),
    MsgType.ERROR: st.builds(Error, u8, u8, u8, text),
    MsgType.RESET: st.just(Reset()),
    MsgType.BLIT: st.builds(Blit, u16, u16, u16, u16, u8, st.binary(max_size=600)),
    MsgType.PRESENT: st.builds(Present, u32),
    MsgType.CLEAR: st.builds(Clear, u8),
    MsgType.SET_BRIGHTNESS: st.builds(SetBrightness, u8),
    MsgType.SLEEP: st.just(Sleep()),
    MsgType.WAKE: st.just(Wake()),
    MsgType.COPY: st.builds(Copy, u16, u16, u16, u16, u16, u16),
    MsgType.EVENT: st.builds(Event, u8, u8, i16, u32),
    MsgType.LOG: st.builds(Log, u8, text),
    MsgType.ENTER_BOOTLOADER: st.builds(EnterBootloader, u32, u16),
}
any_message = st.one_of(*MESSAGES.values())


def frame_of(msg: Message, seq: int = 0, ack: int = 0, version: int = 1, flags: int = 0) -> Frame:
    return Frame(
        type=msg.TYPE, seq=seq, ack=ack, payload=encode_payload(msg), version=version, flags=flags
    )


def test_every_message_type_has_a_strategy() -> None:
    assert set(MESSAGES) == set(MsgType)


@FAST
@given(data=st.data())
@pytest.mark.parametrize("type_", list(MsgType), ids=[t.name for t in MsgType])
def test_message_round_trips_through_a_frame(type_: MsgType, data: st.DataObject) -> None:
    msg = data.draw(MESSAGES[type_])
    seq, ack, version, flags = data.draw(st.tuples(u8, u8, u8, u8))
    frame = frame_of(msg, seq, ack, version, flags)
    wire = encode_frame(frame)
    assert wire.index(0) == len(wire) - 1, "the only 0x00 is the delimiter"
    assert len(wire) <= max_wire_len(len(frame.payload))
    decoder = FrameDecoder()
    items = list(decoder.feed(wire))
    assert items == [frame]
    assert decode_payload(frame.type, frame.payload) == msg
    assert decoder.buffered == 0


@FAST
@given(
    msgs=st.lists(st.tuples(any_message, u8, u8), min_size=1, max_size=12),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
    idle=st.integers(0, 3),
)
def test_a_stream_of_frames_decodes_whatever_the_read_boundaries(
    msgs: list[tuple[Message, int, int]], cuts: list[int], idle: int
) -> None:
    frames = [frame_of(msg, seq, ack) for msg, seq, ack in msgs]
    stream = b"".join(b"\x00" * idle + encode_frame(f) for f in frames)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    decoder = FrameDecoder()
    got: list[Frame | FrameError] = []
    for a, b in itertools.pairwise(points):
        got.extend(decoder.feed(stream[a:b]))
    assert got == frames
    assert [decode_payload(f.type, f.payload) for f in frames] == [m for m, _, _ in msgs]


# -- COBS -------------------------------------------------------------------------------------


@st.composite
def zero_sparse_bytes(draw: st.DrawFn) -> bytes:
    """Runs of non-zero bytes around the 254-byte block size, separated by zeros."""
    runs = draw(
        st.lists(
            st.one_of(st.integers(0, 3), st.integers(250, 260), st.integers(505, 512)),
            max_size=5,
        )
    )
    fill = draw(st.integers(1, 0xFF))
    return b"\x00".join(bytes([fill]) * n for n in runs)


cobs_input = st.one_of(st.binary(max_size=1200), zero_sparse_bytes())


@FAST
@given(data=cobs_input)
def test_cobs_round_trips_without_zero_bytes(data: bytes) -> None:
    encoded = cobs.encode(data)
    assert 0 not in encoded
    assert cobs.decode(encoded) == data
    n = len(data)
    assert len(encoded) <= n + max(1, math.ceil(n / 254))  # canonical worst case
    assert len(encoded) <= cobs.max_encoded_len(n)  # the buffer-sizing bound


def test_cobs_worst_case_is_reached() -> None:
    for n in (0, 1, 253, 254, 255, 508, 509, 1000):
        assert len(cobs.encode(b"\x01" * n)) == n + max(1, math.ceil(n / 254))


# -- PackBits ---------------------------------------------------------------------------------


@st.composite
def runny_bytes(draw: st.DrawFn) -> bytes:
    """Runs of equal bytes with lengths around the encoder's thresholds (3, 128)."""
    parts = draw(
        st.lists(
            st.tuples(
                u8, st.one_of(st.integers(1, 4), st.integers(126, 131), st.integers(255, 258))
            ),
            max_size=12,
        )
    )
    return b"".join(bytes([v]) * n for v, n in parts)


packbits_input = st.one_of(st.binary(max_size=1200), runny_bytes())


@FAST
@given(data=packbits_input)
def test_packbits_round_trips_within_the_worst_case(data: bytes) -> None:
    n = len(data)
    encoded = packbits.encode(data)
    assert packbits.decode(encoded, n) == data
    assert len(encoded) <= packbits.max_encoded_len(n) == n + math.ceil(n / 128)


@FAST
@given(data=packbits_input.filter(bool), delta=st.integers(1, 3))
def test_packbits_decoder_insists_on_the_rectangle_size(data: bytes, delta: int) -> None:
    encoded = packbits.encode(data)
    with pytest.raises(packbits.PackBitsError):
        packbits.decode(encoded, len(data) + delta)
    if delta <= len(data):
        with pytest.raises(packbits.PackBitsError):
            packbits.decode(encoded, len(data) - delta)


def test_packbits_worst_case_is_reached() -> None:
    for n in (1, 2, 127, 128, 129, 256, 257):
        data = bytes(i % 2 for i in range(n))  # no run of 3 anywhere
        assert len(packbits.encode(data)) == n + math.ceil(n / 128)


# -- pixels -----------------------------------------------------------------------------------


@FAST
@given(data=st.data())
@pytest.mark.parametrize("bpp", pixels.SUPPORTED_BPP)
def test_pixels_pack_unpack_round_trip(bpp: int, data: st.DataObject) -> None:
    ppb = 8 // bpp
    h = data.draw(st.integers(1, 12))
    w = data.draw(st.integers(1, 12)) * ppb
    levels = data.draw(arrays(np.uint8, (h, w), elements=st.integers(0, (1 << bpp) - 1)))
    packed = pixels.pack(levels, bpp)
    assert len(packed) == pixels.row_bytes(w, bpp) * h == h * w * bpp // 8
    assert np.array_equal(pixels.unpack(packed, w, h, bpp), levels)


def test_pixels_are_packed_msb_first() -> None:
    def levels(*row: int) -> pixels.Levels:
        return np.array([row], dtype=np.uint8)

    assert pixels.pack(levels(1, 0, 0, 0, 0, 0, 0, 1), 1) == b"\x81"
    assert pixels.pack(levels(1, 2, 3, 0), 2) == b"\x6c"
    assert pixels.pack(levels(0x1, 0x2, 0xF, 0x0), 4) == b"\x12\xf0"
    with pytest.raises(ValueError):
        pixels.pack(levels(1, 2, 3), 2)  # width not a multiple of 4 px


# -- resynchronisation ------------------------------------------------------------------------


@FAST
@given(garbage=st.binary(max_size=400), msg=any_message, seq=u8, ack=u8)
def test_decoder_resynchronises_after_garbage(
    garbage: bytes, msg: Message, seq: int, ack: int
) -> None:
    frame = frame_of(msg, seq, ack)
    wire = encode_frame(frame)
    decoder = FrameDecoder(max_payload=max(64, len(frame.payload)))
    items = list(decoder.feed(garbage + b"\x00" + wire))
    assert items[-1] == frame
    assert all(isinstance(i, FrameError) for i in items[:-1])
    assert decoder.buffered == 0
    assert decode_payload(frame.type, frame.payload) == msg
