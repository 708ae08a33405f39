"""The simulated display MCU, driven as pure code: bytes and time in, bytes out (no clock)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_support import exchange, session

from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.frame import Frame, FrameDecoder, encode_frame
from firmware_bridge.protocol.messages import Encoding, MsgType, Reason
from hw_sim.device import DisplayDevice
from hw_sim.events import ResetCause
from hw_sim.minihost import MiniHost, blit
from hw_sim.profiles import PROFILES, get_profile

pytestmark = pytest.mark.fast

P640 = get_profile("640x400x4")
P128 = get_profile("128x64x1")


def decode_all(data: bytes) -> list[m.Message]:
    out: list[m.Message] = []
    for item in FrameDecoder().feed(data):
        assert isinstance(item, Frame), item
        out.append(m.decode_payload(item.type, item.payload))
    return out


def connected(
    profile: m.HelloAck | None = None, prof: str = "640x400x4"
) -> tuple[MiniHost, DisplayDevice]:
    dev = DisplayDevice(get_profile(prof))
    host = session(dev)
    assert dev.session
    return host, dev


def test_boot_announces_no_session() -> None:
    dev = DisplayDevice(P640)
    wire = dev.poll(0.0)
    assert wire.startswith(b"\x00")  # flushes whatever the host buffered before the reboot
    assert decode_all(wire) == [m.Nak(0, Reason.NO_SESSION)]
    assert dev.poll(1.0) == b""


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_hello_ack_reports_profile_then_boot_event(name: str) -> None:
    prof = get_profile(name)
    dev = DisplayDevice(prof)
    host = MiniHost()
    dev.poll(0.0)
    host.hello(session_id=0x12345678)
    got = exchange(host, dev, 0.5)
    ack = m.HelloAck(
        1,
        1,
        1,
        prof.width_px,
        prof.height_px,
        prof.bpp,
        prof.max_payload,
        prof.window,
        prof.fw_version,
        0x12345678,
        prof.board_id,
    )
    assert got == [ack, m.Event(m.EventKind.BOOT, ResetCause.POWER_ON, 0, 500)]
    assert dev.session and dev.session_id == 0x12345678 and host.arq.idle


def test_without_session_every_frame_gets_nak_no_session() -> None:
    dev = DisplayDevice(P640)
    dev.poll(0.0)
    dev.receive_bytes(encode_frame(Frame(MsgType.PING, payload=b"\x01\x00\x00\x00")), 0.0)
    dev.receive_bytes(encode_frame(Frame(MsgType.PRESENT, seq=3, payload=bytes(4))), 0.0)
    assert decode_all(dev.poll(0.0)) == [
        m.Nak(0, Reason.NO_SESSION),
        m.Nak(3, Reason.NO_SESSION),
    ]
    assert dev.stats.presents == 0


def test_version_mismatch_gives_version_zero_and_no_session() -> None:
    dev = DisplayDevice(P640)
    dev.poll(0.0)
    host = MiniHost()
    host.hello(min_version=2, max_version=3)
    got = exchange(host, dev, 0.0)
    assert len(got) == 1 and isinstance(got[0], m.HelloAck)
    assert got[0].version == 0 and (got[0].min_version, got[0].max_version) == (1, 1)
    assert not dev.session and host.hello_ack is None


def test_hello_with_wrong_header_version_is_an_error() -> None:
    dev = DisplayDevice(P640)
    dev.poll(0.0)
    payload = m.encode_payload(m.Hello(1, 1, 4096, 7))
    dev.receive_bytes(encode_frame(Frame(MsgType.HELLO, payload=payload, version=2)), 0.0)
    [err] = decode_all(dev.poll(0.0))
    assert isinstance(err, m.Error) and err.reason == Reason.UNSUPPORTED_VERSION
    assert not dev.session


def test_frame_with_wrong_version_in_session_is_an_error() -> None:
    _, dev = connected()
    dev.receive_bytes(encode_frame(Frame(MsgType.PRESENT, seq=0, payload=bytes(4), version=9)), 1.0)
    errors = [x for x in decode_all(dev.poll(1.0)) if isinstance(x, m.Error)]
    assert [(e.ref_type, e.reason) for e in errors] == [
        (MsgType.PRESENT, Reason.UNSUPPORTED_VERSION)
    ]
    assert "1..1" in errors[0].detail and dev.stats.presents == 0


@pytest.mark.parametrize("encoding", [Encoding.RAW, Encoding.PACKBITS])
def test_blit_then_present_changes_front_exactly(encoding: Encoding) -> None:
    host, dev = connected()
    rng = np.random.default_rng(1)
    pattern = rng.integers(0, 16, size=(10, 24), dtype=np.uint8)
    pattern[:, :8] = 5  # a run, so PackBits has something to compress
    host.send(blit(pattern, 16, 3, 4, encoding))
    exchange(host, dev, 1.0)
    assert not dev.fb.front.any()  # drawn into the back buffer only
    assert np.array_equal(dev.fb.back[3:13, 16:40], pattern)
    host.send(m.Present(42))
    exchange(host, dev, 1.1)
    expected = np.zeros((400, 640), np.uint8)
    expected[3:13, 16:40] = pattern
    assert np.array_equal(dev.fb.front, expected)
    assert (dev.stats.presents, dev.stats.last_frame_id, dev.stats.errors_sent) == (1, 42, 0)
    assert host.arq.idle


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (m.Blit(636, 0, 8, 1, Encoding.RAW, bytes(4)), Reason.BAD_RECT),  # past the right edge
        (m.Blit(0, 399, 2, 2, Encoding.RAW, bytes(2)), Reason.BAD_RECT),  # past the bottom
        (m.Blit(1, 0, 2, 1, Encoding.RAW, bytes(1)), Reason.BAD_RECT),  # x not byte aligned
        (m.Blit(0, 0, 3, 1, Encoding.RAW, bytes(2)), Reason.BAD_RECT),  # width not aligned
        (m.Blit(0, 0, 0, 1, Encoding.RAW, b""), Reason.BAD_RECT),  # empty
        (m.Blit(0, 0, 4, 2, Encoding.RAW, bytes(3)), Reason.BAD_LENGTH),  # 4 bytes needed
        (m.Blit(0, 0, 4, 2, Encoding.PACKBITS, b"\x05\x01"), Reason.BAD_ENCODING),  # truncated
        (m.Blit(0, 0, 4, 2, Encoding.PACKBITS, b"\xf0\x11"), Reason.BAD_ENCODING),  # too long
        (m.Blit(0, 0, 4, 2, 7, bytes(4)), Reason.BAD_ENCODING),  # unknown encoding
        (m.Clear(16), Reason.BAD_PAYLOAD),  # level above 15 at 4 bpp
        (m.Copy(0, 0, 642, 1, 0, 0), Reason.BAD_RECT),  # wider than the screen
        (m.Copy(0, 300, 8, 101, 0, 0), Reason.BAD_RECT),  # source past the bottom
        (m.Copy(0, 0, 8, 1, 634, 0), Reason.BAD_RECT),  # destination past the right edge
        (m.Copy(0, 0, 8, 2, 0, 399), Reason.BAD_RECT),  # destination past the bottom
        (m.Copy(1, 0, 2, 1, 0, 0), Reason.BAD_RECT),  # src_x not byte aligned
        (m.Copy(0, 0, 2, 1, 3, 0), Reason.BAD_RECT),  # dst_x not byte aligned
        (m.Copy(0, 0, 3, 1, 0, 0), Reason.BAD_RECT),  # width not aligned
        (m.Copy(0, 0, 0, 1, 0, 0), Reason.BAD_RECT),  # empty
        (m.Copy(0, 0, 8, 0, 0, 4), Reason.BAD_RECT),  # empty
        (m.Copy(0xFFFE, 0, 8, 1, 0, 0), Reason.BAD_RECT),  # the sum needs more than 16 bits
    ],
)
def test_bad_draw_commands_are_rejected_and_leave_buffers_alone(
    msg: m.Message, reason: Reason
) -> None:
    host, dev = connected()
    host.send(m.Clear(3))
    pattern = np.random.default_rng(5).integers(0, 16, (16, 64), dtype=np.uint8)
    host.send(blit(pattern, 0, 0, 4))  # not uniform: a partial COPY would show
    exchange(host, dev, 1.0)
    back = dev.fb.back.copy()
    host.send(msg)
    got = exchange(host, dev, 1.0)
    [err] = [x for x in got if isinstance(x, m.Error)]
    assert (err.ref_seq, err.ref_type, err.reason) == (2, msg.TYPE, reason)
    assert np.array_equal(dev.fb.back, back)
    host.send(m.Present(1))  # the bad frame's number was consumed: the link goes on
    exchange(host, dev, 1.1)
    assert dev.stats.presents == 1 and host.arq.idle


def copy_reference(back: np.ndarray, msg: m.Copy) -> np.ndarray:
    """What COPY must leave: the whole source read first, then written (memmove)."""
    out = back.copy()
    w, h = msg.width_px, msg.height_px
    out[msg.dst_y : msg.dst_y + h, msg.dst_x : msg.dst_x + w] = back[
        msg.src_y : msg.src_y + h, msg.src_x : msg.src_x + w
    ]
    return out


@pytest.mark.parametrize(
    "msg",
    [
        m.Copy(0, 104, 640, 264, 0, 60),  # scroll up by 44 rows, overlapping
        m.Copy(0, 60, 640, 264, 0, 104),  # scroll down by 44 rows, overlapping
        m.Copy(16, 10, 600, 380, 16, 9),  # up by one row
        m.Copy(16, 9, 600, 380, 16, 10),  # down by one row
        m.Copy(0, 0, 600, 400, 40, 0),  # right, same rows (memmove within each row)
        m.Copy(40, 0, 600, 400, 0, 0),  # left, same rows
        m.Copy(8, 20, 300, 200, 30, 21),  # diagonal, overlapping
        m.Copy(0, 0, 640, 400, 0, 0),  # onto itself
        m.Copy(0, 0, 320, 200, 320, 200),  # no overlap
    ],
)
def test_copy_moves_pixels_like_memmove(msg: m.Copy) -> None:
    host, dev = connected()
    noise = np.random.default_rng(7).integers(0, 16, (400, 640), dtype=np.uint8)
    for y in range(0, 400, 10):  # RAW BLITs of 10 rows, 3200 bytes each
        host.send(blit(noise[y : y + 10], 0, y, 4))
    host.send(m.Present(1))
    exchange(host, dev, 1.0)
    assert np.array_equal(dev.fb.back, noise)
    host.send(msg)
    got = exchange(host, dev, 1.1)
    assert not [x for x in got if isinstance(x, m.Error)]
    assert np.array_equal(dev.fb.back, copy_reference(noise, msg))
    assert np.array_equal(dev.fb.front, noise), "COPY draws into the back buffer only"
    host.send(m.Present(2))
    exchange(host, dev, 1.2)
    assert np.array_equal(dev.fb.front, copy_reference(noise, msg))
    assert host.arq.idle


@settings(max_examples=80, deadline=None)
@given(data=st.data(), name=st.sampled_from(["128x64x1", "576x136x1", "640x400x4"]))
def test_random_overlapping_copies_match_the_reference(data: st.DataObject, name: str) -> None:
    prof = get_profile(name)
    ppb = 8 // prof.bpp
    dev = DisplayDevice(prof)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    dev.fb.back[:] = rng.integers(0, 1 << prof.bpp, dev.fb.back.shape)
    cols, rows = prof.width_px // ppb, prof.height_px
    w = data.draw(st.integers(1, cols))
    h = data.draw(st.integers(1, rows))
    sx, sy = data.draw(st.integers(0, cols - w)), data.draw(st.integers(0, rows - h))
    # Destinations near the source, so most copies overlap it.
    dx = data.draw(st.integers(max(0, sx - 3), min(cols - w, sx + 3)))
    dy = data.draw(st.integers(max(0, sy - 5), min(rows - h, sy + 5)))
    msg = m.Copy(sx * ppb, sy, w * ppb, h, dx * ppb, dy)
    before = dev.fb.back.copy()
    dev.fb.copy(msg)
    assert np.array_equal(dev.fb.back, copy_reference(before, msg))


def test_copy_with_a_short_payload_is_bad_length() -> None:
    host, dev = connected()
    dev.receive_bytes(encode_frame(Frame(MsgType.COPY, seq=0, payload=bytes(11))), 1.0)
    got = host.feed(dev.poll(1.0), 1.0)
    assert [(e.ref_type, e.reason) for e in got if isinstance(e, m.Error)] == [
        (MsgType.COPY, Reason.BAD_LENGTH)
    ]
    assert dev.arq.rx_expected == 1  # the number was consumed


def test_bad_payload_length_and_unknown_type() -> None:
    host, dev = connected()
    dev.receive_bytes(encode_frame(Frame(MsgType.PRESENT, seq=0, payload=b"\x01\x02")), 1.0)
    dev.receive_bytes(encode_frame(Frame(0x7E, payload=b"?")), 1.0)
    dev.receive_bytes(encode_frame(Frame(MsgType.EVENT, seq=1, payload=bytes(8))), 1.0)
    dev.receive_bytes(encode_frame(Frame(MsgType.PONG, payload=bytes(4))), 1.0)  # ignored
    got = host.feed(dev.poll(1.0), 1.0)
    errors = [(e.ref_type, e.reason) for e in got if isinstance(e, m.Error)]
    assert errors == [
        (MsgType.PRESENT, Reason.BAD_LENGTH),
        (0x7E, Reason.UNKNOWN_TYPE),
        (MsgType.EVENT, Reason.UNKNOWN_TYPE),  # wrong direction
    ]
    assert dev.arq.rx_expected == 2  # the bad PRESENT and the EVENT consumed their numbers


def test_malformed_error_or_nak_from_the_host_is_never_answered() -> None:
    _, dev = connected()
    dev.receive_bytes(encode_frame(Frame(MsgType.ERROR, payload=b"\x00")), 1.0)
    dev.receive_bytes(encode_frame(Frame(MsgType.NAK, payload=b"\x00\x01\x02")), 1.0)
    dev.receive_bytes(encode_frame(Frame(MsgType.ERROR, payload=b"\x00\x10\x07oops")), 1.0)
    assert decode_all(dev.poll(1.0)) == [] and dev.stats.errors_sent == 0


def test_logs_leave_room_for_events_in_the_send_queue() -> None:
    _, dev = connected()
    queued = sum(dev.send_log(m.LogLevel.DEBUG, "spam", 1.0) for _ in range(100))
    assert queued < dev.arq.config.max_pending
    assert dev.press_button(m.ButtonAction.PRESS, 1.0)


def test_ping_pong_clear_brightness_sleep_wake() -> None:
    host, dev = connected()
    host.send(m.Ping(0xDEADBEEF))
    host.send(m.SetBrightness(40))
    host.send(m.Sleep())
    got = exchange(host, dev, 1.0)
    assert m.Pong(0xDEADBEEF) in got and dev.brightness == 40 and dev.sleeping
    host.send(m.Wake())
    host.send(m.Clear(9))
    host.send(m.Present(5))
    exchange(host, dev, 1.0)
    assert not dev.sleeping and (dev.fb.front == 9).all()


def test_crc_corruption_gets_nak_bad_crc_and_recovers() -> None:
    host, dev = connected()
    host.send(m.Clear(2))
    host.send(m.Present(1))
    wire = bytearray(host.poll(1.0))
    wire[5] ^= 0x10  # inside the first frame
    dev.receive_bytes(bytes(wire), 1.0)
    out = decode_all(dev.poll(1.0))
    assert m.Nak(0, Reason.BAD_CRC) in out
    assert dev.decoder.stats.crc_errors == 1
    host.feed(
        encode_frame(Frame(MsgType.NAK, payload=m.encode_payload(m.Nak(0, Reason.BAD_CRC)))), 1.0
    )
    exchange(host, dev, 1.01)  # the NAK makes the host go back at once, no timeout
    assert dev.stats.presents == 1 and (dev.fb.front == 2).all()


def test_oversized_frame_is_discarded_and_link_resyncs() -> None:
    host, dev = connected(prof="128x64x1")
    dev.receive_bytes(b"\x55" * 2000 + b"\x00", 1.0)
    assert dev.decoder.stats.overflows == 1
    host.send(m.Present(9))
    exchange(host, dev, 1.0)
    assert dev.stats.last_frame_id == 9


def test_garbage_between_frames_is_skipped() -> None:
    host, dev = connected()
    host.send(m.Clear(1))
    host.send(m.Present(7))
    frames = host.poll(1.0).split(b"\x00")[:2]
    wire = b"\x13\x37junk\x00" + frames[0] + b"\x00\x00\xff\xfe\x00" + frames[1] + b"\x00"
    dev.receive_bytes(wire, 1.0)
    host.feed(dev.poll(1.0), 1.0)
    assert dev.stats.presents == 1 and (dev.fb.front == 1).all()
    assert dev.stats.errors_sent == 0


def test_duplicate_frame_is_reacked_not_reapplied() -> None:
    host, dev = connected()
    host.send(m.Present(1))
    wire = host.poll(1.0)
    dev.receive_bytes(wire + wire, 1.0)
    host.feed(dev.poll(1.0), 1.0)
    assert dev.stats.presents == 1 and dev.arq.stats.duplicates == 1 and host.arq.idle


def test_reset_acks_then_reboots_after_delay() -> None:
    host, dev = connected()
    host.send(m.Clear(4))
    host.send(m.Present(3))
    host.send(m.Reset())
    exchange(host, dev, 1.0)
    assert host.arq.idle and dev.session  # acknowledged, not yet rebooted
    assert decode_all(dev.poll(1.05)) == []
    assert decode_all(dev.poll(1.1)) == [m.Nak(0, Reason.NO_SESSION)]
    assert (
        not dev.session and not dev.fb.front.any() and dev.reset_cause == ResetCause.RESET_MESSAGE
    )
    host.hello()
    got = exchange(host, dev, 2.0)
    assert m.Event(m.EventKind.BOOT, ResetCause.RESET_MESSAGE, 0, 900) in got


def test_event_is_retransmitted_until_acked() -> None:
    _, dev = connected()
    dev.poll(0.0)
    assert dev.press_button(m.ButtonAction.PRESS, 1.0)
    first = dev.poll(1.0)
    assert decode_all(first) == [m.Event(m.EventKind.BUTTON, 0, m.ButtonAction.PRESS, 1000)]
    rto_s = dev.arq.rto_s
    assert dev.poll(1.0 + rto_s / 2) == b""
    eps = 1e-6
    t1 = 1.0 + rto_s + eps
    assert dev.poll(t1) == first  # same frame, same sequence number
    assert dev.poll(t1 + rto_s * 1.5) == b""  # backed off: the timeout doubled
    t2 = t1 + rto_s * 2 + eps
    assert dev.poll(t2) == first
    assert dev.poll(t2 + rto_s * 4 + eps) == first
    assert dev.arq.stats.retransmits == 3
    dev.receive_bytes(encode_frame(Frame(MsgType.ACK, ack=2)), 2.0)  # BOOT was 0, BUTTON 1
    assert dev.arq.idle and dev.poll(10.0) == b""


def test_events_and_logs_are_dropped_without_session() -> None:
    dev = DisplayDevice(P640)
    assert not dev.swipe(m.SwipeDirection.FORWARD, 0.0)
    assert dev.stats.events_dropped == 1
    host, dev = connected()
    assert dev.battery(40, True, 1.0) and dev.set_worn(False, 1.0) and dev.temperature(36.6, 1.0)
    assert dev.send_log(m.LogLevel.INFO, "x" * 5000, 1.0)
    got = exchange(host, dev, 1.0)
    assert m.Event(m.EventKind.BATTERY, 40, 1, 1000) in got
    assert m.Event(m.EventKind.TEMPERATURE, 0, 3660, 1000) in got
    [log] = [x for x in got if isinstance(x, m.Log)]
    assert len(log.text) == host.max_payload - 1
    with pytest.raises(ValueError):
        dev.send_event(1, 300, 0, 1.0)


def test_slow_device_processes_late_and_overruns_its_slots() -> None:
    dev = DisplayDevice(P128, processing_s=0.01)
    host = MiniHost(window=2)
    dev.poll(0.0)
    host.hello()
    for t in (0.0, 0.02, 0.04, 0.1):
        exchange(host, dev, t)
    assert host.hello_ack is not None and host.arq.idle and dev.arq.idle
    frames = b"".join(encode_frame(Frame(MsgType.PING, payload=bytes(4))) for _ in range(10))
    dev.receive_bytes(frames, 1.0)
    assert dev.stats.rx_overruns == 10 - (P128.window + 4)
    assert dev.poll(1.0) == b""
    assert len(decode_all(dev.poll(1.031))) == 3  # three pings done after 30 ms


def test_power_cycle_forgets_everything() -> None:
    host, dev = connected()
    host.send(m.Clear(5))
    host.send(m.Present(1))
    exchange(host, dev, 1.0)
    dev.power_off()
    assert dev.poll(1.5) == b"" and not dev.fb.front.any() and not dev.session
    dev.receive_bytes(host.poll(1.5) + encode_frame(Frame(MsgType.PING, payload=bytes(4))), 1.5)
    dev.power_on(2.0)
    assert decode_all(dev.poll(2.0)) == [m.Nak(0, Reason.NO_SESSION)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_random_bytes_never_crash_and_output_stays_bounded(chunks: list[bytes]) -> None:
    host, dev = connected(prof="128x64x1")
    for i, chunk in enumerate(chunks):
        dev.receive_bytes(chunk, 1.0 + i)
        assert len(dev.poll(1.0 + i)) <= 64 * 1024
    host.hello()  # whatever the garbage did (even a stray HELLO or RESET), the device recovers
    for t in (100.0, 101.0):
        exchange(host, dev, t)
    host.send(m.Present(77))
    exchange(host, dev, 102.0)
    assert dev.session and dev.stats.last_frame_id == 77


def test_boot_event_is_sent_again_when_a_new_hello_cut_it_off() -> None:
    dev = DisplayDevice(P640)
    dev.poll(0.0)
    host = MiniHost()
    host.hello()
    dev.receive_bytes(host.poll(0.0), 0.0)
    first = decode_all(dev.poll(0.1))  # HELLO_ACK and BOOT, which the host never acknowledges
    assert first[-1] == m.Event(m.EventKind.BOOT, ResetCause.POWER_ON, 0, 0)
    host.hello()  # a retry with a fresh session id (spec: the first answer looked lost)
    got = exchange(host, dev, 0.5)
    assert got[-1] == m.Event(m.EventKind.BOOT, ResetCause.POWER_ON, 0, 0)  # queued again
    assert host.arq.idle and dev.arq.idle
    host.hello()  # acknowledged this time: a third session does not repeat it
    assert [type(x) for x in exchange(host, dev, 1.0)] == [m.HelloAck]


def test_new_hello_restarts_numbering_but_keeps_the_picture() -> None:
    host, dev = connected()
    host.send(m.Clear(6))
    host.send(m.Present(1))
    exchange(host, dev, 1.0)
    host2 = MiniHost()
    host2.hello()  # e.g. the host process restarted
    got = exchange(host2, dev, 2.0)
    assert [type(x) for x in got] == [m.HelloAck]  # no second BOOT event
    assert dev.arq.rx_expected == 0 and dev.stats.sessions == 2
    assert (dev.front == 6).all() and (dev.back == 6).all()
    host2.send(m.Present(2))
    exchange(host2, dev, 2.1)
    assert dev.counters()["last_frame_id"] == 2 and dev.counters()["crc_errors"] == 0
