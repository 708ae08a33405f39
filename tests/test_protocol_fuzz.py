"""Fuzzing the two receive paths of link protocol v1 with random and mutated frames.

- Host side: FrameDecoder -> decode_payload. FrameDecoder never raises (bad input is *yielded*
  as FrameError); decode_payload raises nothing but PayloadError.
- Device side: hw_sim.device.DisplayDevice, fed through ``receive_bytes`` / ``poll``. It never
  raises, and everything it transmits is a well-formed frame.

Both stay bounded in memory (no buffer beyond ``max_encoded``) and recover: after any input, a
``0x00`` and one valid frame are understood again (docs/protocol.md, section 3.4).
"""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.protocol import (
    SEQUENCED,
    Ack,
    Blit,
    Clear,
    Copy,
    Encoding,
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
    PayloadError,
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
    packbits,
)
from firmware_bridge.protocol.frame import HEADER, MIN_PAYLOAD, crc32
from hw_sim.device import DisplayDevice
from hw_sim.profiles import PROFILES, Profile

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# A hang fails the test instead of the whole run.
pytestmark = [pytest.mark.fast, pytest.mark.timeout(120)]

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
i16 = st.integers(-0x8000, 0x7FFF)
text = st.text(max_size=80)

any_message: st.SearchStrategy[Message] = st.one_of(
    st.just(Ack()),
    st.builds(Hello, u8, u8, u16, u32),
    st.builds(
        HelloAck,
        u8,
        u8,
        u8,
        u16,
        u16,
        u8,
        u16,
        u8,
        st.tuples(u8, u8, u8),
        u32,
        st.text(st.characters(max_codepoint=0x7F), max_size=32),
    ),
    st.builds(Ping, u32),
    st.builds(Pong, u32),
    st.builds(Nak, u8, u8),
    st.builds(Error, u8, u8, u8, text),
    st.just(Reset()),
    st.builds(Blit, u16, u16, u16, u16, u8, st.binary(max_size=300)),
    st.builds(Present, u32),
    st.builds(Clear, u8),
    st.builds(SetBrightness, u8),
    st.just(Sleep()),
    st.just(Wake()),
    st.builds(Copy, u16, u16, u16, u16, u16, u16),
    st.builds(Event, u8, u8, i16, u32),
    st.builds(Log, u8, text),
)


def wire_of(msg: Message, seq: int = 0, ack: int = 0) -> bytes:
    return encode_frame(Frame(type=msg.TYPE, seq=seq, ack=ack, payload=encode_payload(msg)))


def numbered(msgs: list[tuple[Message, int]], first_seq: int = 0) -> list[bytes]:
    """Wire frames with the sequence numbers a correct sender would give them."""
    out, seq = [], first_seq
    for msg, ack in msgs:
        if msg.TYPE in SEQUENCED:
            out.append(wire_of(msg, seq, ack))
            seq = (seq + 1) % 256
        else:
            out.append(wire_of(msg, 0, ack))
    return out


# -- mutations --------------------------------------------------------------------------------


@st.composite
def lying_frame(draw: st.DrawFn) -> bytes:
    """A frame whose CRC is right but whose header length is not (up to 0xFFFF)."""
    payload = draw(st.binary(max_size=40))
    length = draw(st.one_of(st.just(0xFFFF), u16).filter(lambda n: n != len(payload)))
    version, type_, flags, seq, ack = draw(st.tuples(u8, u8, u8, u8, u8))
    body = HEADER.pack(version, type_, flags, seq, ack, length) + payload
    return cobs.encode(body + struct.pack("<I", crc32(body))) + b"\x00"


@st.composite
def mutated(draw: st.DrawFn, frames: list[bytes]) -> bytes:
    """``frames`` reordered, lost or replayed, concatenated, then damaged in up to 6 ways."""
    frames = list(frames)
    for _ in range(draw(st.integers(0, 3)) if frames else 0):
        i, j = draw(st.integers(0, len(frames) - 1)), draw(st.integers(0, len(frames) - 1))
        op = draw(st.sampled_from(["replay", "swap", "drop"]))
        if op == "replay":  # a retransmission: a duplicate for the receiver
            frames.insert(max(i, j) + 1, frames[min(i, j)])
        elif op == "swap":
            frames[i], frames[j] = frames[j], frames[i]
        elif len(frames) > 1:  # a frame lost on the line: a gap in the sequence
            del frames[i]
    data = bytearray(b"".join(frames))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(
            st.sampled_from(
                [
                    "flip",
                    "truncate",
                    "cut",
                    "insert",
                    "delimiters",
                    "drop_delimiter",
                    "duplicate",
                    "lying_length",
                    "oversize",
                    "random",
                ]
            )
        )
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            data[pos % len(data)] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[pos:]
        elif op == "cut":
            del data[pos : pos + draw(st.integers(1, 20))]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=40))
        elif op == "delimiters":
            data[pos:pos] = b"\x00" * draw(st.integers(1, 3))
        elif op == "drop_delimiter":
            zero = data.find(0, pos)
            if zero >= 0:
                del data[zero]
        elif op == "duplicate":
            end = draw(st.integers(pos, len(data)))
            data[pos:pos] = data[pos:end]
        elif op == "lying_length":
            data[pos:pos] = draw(lying_frame())
        elif op == "oversize":
            n = draw(st.sampled_from([80, 300, 1100, 4200, 70_000]))
            data[pos:pos] = bytes([draw(st.integers(1, 0xFF))]) * n
        elif op == "random":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=300))
    return bytes(data)


def chunked(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` split at random points, as reads from a port would split it."""
    cuts = draw(st.lists(st.integers(0, max(0, len(data))), max_size=8))
    points = sorted({0, len(data), *cuts})
    return [data[a:b] for a, b in itertools.pairwise(points)] or [b""]


# -- host side --------------------------------------------------------------------------------


def host_receive(decoder: FrameDecoder, data: bytes) -> list[Message | FrameError | PayloadError]:
    """What a host makes of ``data``; checks the documented error behaviour and bounds."""
    out: list[Message | FrameError | PayloadError] = []
    for item in decoder.feed(data):
        assert decoder.buffered <= decoder.max_encoded
        if isinstance(item, FrameError):
            assert item.reason in ("overflow", "cobs", "short", "crc", "length")
            out.append(item)
            continue
        assert isinstance(item, Frame)
        assert 11 + len(item.payload) < decoder.max_encoded  # it fitted the buffer
        try:
            msg = decode_payload(item.type, item.payload)
        except PayloadError as exc:
            out.append(exc)
            continue
        assert encode_payload(msg) == item.payload, "a payload decodes only one way"
        out.append(msg)
    assert decoder.buffered <= decoder.max_encoded
    return out


@st.composite
def host_input(draw: st.DrawFn) -> tuple[int, list[bytes]]:
    max_payload = draw(st.sampled_from([MIN_PAYLOAD, 256, 4096, 0xFFFF]))
    msgs = draw(st.lists(st.tuples(any_message, u8), min_size=1, max_size=8))
    data = draw(st.one_of(st.binary(max_size=2000), mutated(numbered(msgs))))
    return max_payload, chunked(draw, data)


@FUZZ
@given(case=host_input(), ping=st.builds(Ping, u32))
def test_host_decoder_survives_fuzz_and_recovers(case: tuple[int, list[bytes]], ping: Ping) -> None:
    max_payload, chunks = case
    decoder = FrameDecoder(max_payload=max_payload)
    for chunk in chunks:
        host_receive(decoder, chunk)
    # Resynchronisation: a delimiter, then a valid frame is received whatever came before.
    assert host_receive(decoder, b"\x00" + wire_of(ping, 0, 1))[-1] == ping
    assert decoder.buffered == 0


@FUZZ
@given(type_code=u8, payload=st.binary(max_size=120))
def test_decode_payload_raises_only_payload_error(type_code: int, payload: bytes) -> None:
    try:
        msg = decode_payload(type_code, payload)
    except PayloadError:
        return
    assert int(msg.TYPE) == type_code
    assert encode_payload(msg) == payload


def test_host_decoder_memory_stays_bounded_on_an_endless_frame() -> None:
    decoder = FrameDecoder(max_payload=256)
    junk = bytes(range(1, 256)) * 64  # 16 KiB, no delimiter
    for _ in range(20):
        assert list(decoder.feed(junk)) == []
        assert decoder.buffered <= decoder.max_encoded
    items = host_receive(decoder, b"\x00" + wire_of(Ping(7)))
    assert isinstance(items[0], FrameError) and items[0].reason == "overflow"
    assert items[1:] == [Ping(7)]
    assert decoder.stats.overflows == 1


# -- device side ------------------------------------------------------------------------------


@st.composite
def blits(draw: st.DrawFn, profile: Profile) -> Blit:
    """Mostly valid BLITs for ``profile`` (aligned, on screen, right size), some not."""
    ppb = 8 // profile.bpp
    x = ppb * draw(st.integers(0, profile.width_px // ppb))
    w = ppb * draw(st.integers(0, (profile.width_px - x) // ppb + 1))
    row = w // ppb
    max_h = max(1, (profile.max_payload - 9) // max(row, 1))
    y = draw(st.integers(0, profile.height_px))
    h = draw(st.integers(0, min(max_h, profile.height_px - y + 1)))
    size = row * h
    if draw(st.booleans()):
        return Blit(x, y, w, h, Encoding.RAW, draw(st.binary(min_size=size, max_size=size)))
    runs = draw(st.lists(st.tuples(u8, st.integers(1, 40)), max_size=20))
    data = b"".join(bytes([v]) * n for v, n in runs)
    data = (data + bytes(size))[:size]
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, size))]  # decodes to too few bytes
    encoding = draw(st.sampled_from([Encoding.PACKBITS, Encoding.PACKBITS, Encoding.PACKBITS, 7]))
    return Blit(x, y, w, h, encoding, packbits.encode(data))


@st.composite
def copies(draw: st.DrawFn, profile: Profile) -> Copy:
    """Mostly valid COPYs for ``profile`` (aligned, both rectangles on screen), some not."""
    ppb = 8 // profile.bpp
    cols, rows = profile.width_px // ppb, profile.height_px
    w = draw(st.integers(0, cols + 1))
    h = draw(st.integers(0, rows + 1))
    sx, dx = (ppb * draw(st.integers(0, max(0, cols - w) + 1)) for _ in range(2))
    sy, dy = (draw(st.integers(0, max(0, rows - h) + 1)) for _ in range(2))
    if draw(st.integers(0, 9)) == 0:
        sx += 1  # not byte aligned (at 1 bpp still a whole pixel)
    return Copy(sx, sy, ppb * w, h, dx, dy)


@st.composite
def device_command(draw: st.DrawFn, profile: Profile) -> Message:
    """What a host sends to ``profile``, BLITs most often, with some nonsense mixed in."""
    kind = draw(st.integers(0, 9))
    if kind < 4:
        return draw(blits(profile))
    if kind == 4:
        return Present(draw(u32))
    if kind == 5:
        return Clear(draw(st.integers(0, profile.max_level + 1)))
    if kind == 6:
        simple: list[Message] = [Sleep(), Wake(), Ack(), Reset()]
        return draw(st.one_of(st.builds(SetBrightness, u8), st.sampled_from(simple)))
    if kind == 7:
        return draw(st.one_of(st.builds(Ping, u32), st.builds(Nak, u8, st.sampled_from([1, 5, 6]))))
    if kind == 8:
        return draw(copies(profile))
    return draw(any_message)


DEVICE_PROFILES = ["128x64x1", "640x400x4"]


@st.composite
def device_input(draw: st.DrawFn, profile: Profile) -> list[tuple[bytes, float]]:
    """A host's byte stream, possibly starting with a valid HELLO, damaged, split in time."""
    frames: list[bytes] = []
    if draw(st.integers(0, 9)) < 8:
        hello = Hello(1, draw(st.integers(1, 2)), draw(st.sampled_from([16, 64, 4096])), 0x5E55)
        frames.append(wire_of(hello))
    msgs = draw(st.lists(st.tuples(device_command(profile), st.integers(0, 3)), max_size=12))
    frames += numbered(msgs)
    garbage_only = draw(st.integers(0, 4)) == 0
    data = draw(st.binary(max_size=1500)) if garbage_only else draw(mutated(frames))
    gaps = st.one_of(st.floats(0.0, 0.05), st.floats(0.05, 6.0))
    return [(chunk, draw(gaps)) for chunk in chunked(draw, data)]


def check_device_output(host: FrameDecoder, data: bytes) -> list[Message]:
    """Everything a device transmits must be a valid frame with a valid payload."""
    msgs = []
    for item in host.feed(data):
        assert isinstance(item, Frame), f"device sent a malformed frame: {item}"
        assert (item.version, item.flags) == (1, 0)
        msg = decode_payload(item.type, item.payload)  # PayloadError here is a device bug
        if item.type != MsgType.LOG:
            assert len(item.payload) <= MIN_PAYLOAD
        msgs.append(msg)
    assert host.buffered == 0, "device output ends in the middle of a frame"
    return msgs


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("profile_name", DEVICE_PROFILES)
def test_device_survives_fuzz_and_recovers(profile_name: str, data: st.DataObject) -> None:
    profile = PROFILES[profile_name]
    steps = data.draw(device_input(profile))
    device = DisplayDevice(profile, 0.0)
    host = FrameDecoder()
    now = 0.0
    check_device_output(host, device.poll(now))
    for chunk, gap in steps:
        now += gap
        device.receive_bytes(chunk, now)
        assert device.decoder.buffered <= device.decoder.max_encoded
        check_device_output(host, device.poll(now))
        assert device.arq.unacked <= device.arq.window
        now += 0.01
        check_device_output(host, device.poll(now))
    # Whatever happened, a delimiter and a HELLO start a session.
    now += 1.0  # lets a pending RESET reboot happen first
    check_device_output(host, device.poll(now))
    device.receive_bytes(b"\x00" + wire_of(Hello(1, 1, 4096, 0xC0FFEE)), now)
    replies = check_device_output(host, device.poll(now))
    # (The 0x00 may also complete a frame left unterminated by the fuzz input: answered first.)
    acks = [m for m in replies if isinstance(m, HelloAck)]
    assert acks and acks[-1].session_id == 0xC0FFEE and acks[-1].version == 1
    assert device.decoder.buffered == 0


@pytest.mark.parametrize("profile_name", DEVICE_PROFILES)
def test_device_memory_stays_bounded_on_an_endless_frame(profile_name: str) -> None:
    device = DisplayDevice(PROFILES[profile_name], 0.0)
    host = FrameDecoder()
    check_device_output(host, device.poll(0.0))
    junk = bytes(range(1, 256)) * 256  # 64 KiB, no delimiter
    for i in range(8):
        device.receive_bytes(junk, 0.1 * i)
        assert device.decoder.buffered <= device.decoder.max_encoded
        assert check_device_output(host, device.poll(0.1 * i)) == []
    device.receive_bytes(b"\x00" + wire_of(Ping(1)), 1.0)
    assert check_device_output(host, device.poll(1.0)) == [Nak(0, 6)]  # NO_SESSION
