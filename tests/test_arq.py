"""The shared go-back-N Arq: two ends over a lossy, corrupting (never reordering) channel.

Time is data: a fake clock advances in fixed ticks, so retransmit timing is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.arq import Arq, ArqConfig, QueueFullError, seq_diff
from firmware_bridge.protocol.frame import Frame, FrameDecoder, FrameError, encode_frame

pytestmark = pytest.mark.fast

TICK_S = 0.01


@dataclass
class End:
    """One side: its Arq, its decoder and what it delivered."""

    arq: Arq
    decoder: FrameDecoder = field(default_factory=FrameDecoder)
    delivered: list[m.Message] = field(default_factory=list)

    def feed(self, data: bytes, now_s: float) -> list[bytes]:
        out: list[bytes] = []
        for item in self.decoder.feed(data):
            if isinstance(item, FrameError):
                out += self.arq.corrupt_frame_seen()
                continue
            msgs, replies = self.arq.receive(item, now_s)
            out += replies
            self.delivered += [x for x in msgs if x.TYPE in m.SEQUENCED]
        return out


@dataclass
class Channel:
    """Drops, corrupts or duplicates the n-th frame as its fate list says; perfect once the list runs out."""

    fates: Iterator[str]

    def carry(self, frames: list[bytes]) -> bytes:
        out = bytearray()
        for frame in frames:
            fate = next(self.fates, "ok")
            if fate == "drop":
                continue
            if fate == "corrupt":
                bad = bytearray(frame)
                i = len(bad) // 2  # never the delimiter: a CRC or COBS error, no extra 0x00
                bad[i] = bad[i] ^ 0x5A or 0x01
                frame = bytes(bad)
            out += frame
            if fate == "dup":
                out += frame
        return bytes(out)


def logs(n: int, tag: str) -> list[m.Message]:
    return [m.Log(m.LogLevel.INFO, f"{tag}{i}") for i in range(n)]


fates = st.lists(st.sampled_from(["ok", "ok", "ok", "drop", "corrupt", "dup"]), max_size=120)


@settings(max_examples=60, deadline=None)
@given(
    n_a=st.integers(0, 40),
    n_b=st.integers(0, 15),
    window=st.integers(1, 8),
    fates_ab=fates,
    fates_ba=fates,
    byte_time_s=st.sampled_from([0.0, 10 / 115_200]),
)
def test_every_message_arrives_once_in_order(
    n_a: int, n_b: int, window: int, fates_ab: list[str], fates_ba: list[str], byte_time_s: float
) -> None:
    a = End(Arq(ArqConfig(window=window, byte_time_s=byte_time_s)))
    b = End(Arq(ArqConfig(window=4, byte_time_s=byte_time_s)))
    a.arq.reset(peer_window=4)
    b.arq.reset(peer_window=window)
    sent_a, sent_b = logs(n_a, "a"), logs(n_b, "b")
    for msg in sent_a:
        a.arq.queue(msg)
    for msg in sent_b:
        b.arq.queue(msg)
    ab, ba = Channel(iter(fates_ab)), Channel(iter(fates_ba))
    now = 0.0
    for _ in range(5000):
        to_b = a.arq.poll(now)
        assert a.arq.unacked <= a.arq.window
        to_a = b.feed(ab.carry(to_b), now) + b.arq.poll(now)
        assert b.arq.unacked <= b.arq.window
        a.feed(ba.carry(to_a), now)
        if a.arq.idle and b.arq.idle and len(b.delivered) == n_a and len(a.delivered) == n_b:
            break
        now += TICK_S
    assert b.delivered == sent_a
    assert a.delivered == sent_b
    assert a.arq.idle and b.arq.idle


def frame_of(arq: Arq, now_s: float) -> list[Frame]:
    return [x for x in FrameDecoder().feed(b"".join(arq.poll(now_s))) if isinstance(x, Frame)]


def test_duplicate_is_dropped_and_reacknowledged() -> None:
    a, b = Arq(), Arq()
    a.queue(m.SetBrightness(9))
    (frame,) = frame_of(a, 0.0)
    assert b.receive(frame, 0.0)[0] == [m.SetBrightness(9)]
    assert frame_of(b, 0.0)[0].ack == 1
    assert b.receive(frame, 0.1) == ([], [])
    assert b.stats.duplicates == 1
    (ack,) = frame_of(b, 0.1)
    assert (ack.type, ack.ack) == (m.MsgType.ACK, 1)


def test_gap_draws_one_nak_and_the_sender_goes_back_at_once() -> None:
    a, b = Arq(ArqConfig(window=8, max_pending=1000)), Arq()
    for i in range(3):
        a.queue(m.SetBrightness(i))
    f0, _lost, f2 = frame_of(a, 0.0)
    b.receive(f0, 0.0)
    _, nak1 = b.receive(f2, 0.0)
    _, nak2 = b.receive(f2, 0.0)
    assert len(nak1) == 1 and nak2 == [], "one NAK per expected number"
    (nak,) = [x for x in FrameDecoder().feed(nak1[0]) if isinstance(x, Frame)]
    a.receive(nak, 0.001)
    assert a.stats.naks_received == 1
    resent = frame_of(a, 0.002)  # long before the 0.5 s timeout
    assert [f.seq for f in resent] == [1, 2]
    assert a.stats.retransmits == 2


def test_window_and_pending_are_bounded() -> None:
    a = Arq(ArqConfig(window=3, max_pending=5))
    for i in range(5):
        a.queue(m.SetBrightness(i))
    with pytest.raises(QueueFullError):
        a.queue(m.SetBrightness(5))
    assert len(frame_of(a, 0.0)) == 3 and a.unacked == 3 and a.pending == 2
    assert frame_of(a, 0.1) == [], "nothing beyond the window"
    with pytest.raises(ValueError, match="not sequenced"):
        a.queue(m.Ping(1))


def test_peer_window_caps_the_window_and_zero_means_one() -> None:
    a = Arq(ArqConfig(window=8))
    a.reset(peer_window=2)
    assert a.window == 2
    a.reset(peer_window=0)
    assert a.window == 1


def test_stale_ack_from_an_earlier_session_is_ignored() -> None:
    a = Arq()
    a.queue(m.SetBrightness(1))
    frame_of(a, 0.0)
    a.receive(Frame(type=m.MsgType.ACK, ack=50), 0.0)  # acknowledges frames never sent
    assert a.unacked == 1
    a.receive(Frame(type=m.MsgType.ACK, ack=1), 0.0)
    assert a.unacked == 0


def test_retransmit_timeout_backs_off_exponentially() -> None:
    cfg = ArqConfig(initial_rto_s=0.125, max_rto_s=1.0)  # binary fractions: exact sums
    a = Arq(cfg)
    a.queue(m.SetBrightness(1))
    frame_of(a, 0.0)
    times: list[float] = []
    now = 0.0
    while now < 4.0:
        now += 1 / 1024
        if frame_of(a, now):
            times.append(now)
    gaps = [t1 - t0 for t0, t1 in zip([0.0, *times], times, strict=False)]
    assert gaps[:5] == [0.125, 0.25, 0.5, 1.0, 1.0]
    assert a.stats.retransmits == len(times)


def test_round_trip_sets_the_timeout() -> None:
    a = Arq(ArqConfig(min_rto_s=0.05))
    for i in range(20):
        a.queue(m.SetBrightness(i % 256))
        frame_of(a, i * 1.0)
        a.receive(Frame(type=m.MsgType.ACK, ack=(i + 1) % 256), i * 1.0 + 0.2)
    assert a.stats.rtt_s == pytest.approx(0.2)
    assert 0.2 <= a.rto_s <= 0.3


BAUD_115200 = 10 / 115_200  # seconds per byte on an 8N1 UART
BAUD_921600 = 10 / 921_600
MARGIN = ArqConfig().wire_margin  # the deadline allows for a line this much slower


def big_message() -> m.Message:
    return m.Blit(0, 0, 640, 12, m.Encoding.RAW, bytes(range(1, 256)) * 15)  # 3825 bytes


def after_small_frames(arq: Arq, turnaround_s: float = 0.005) -> float:
    """Many small frames, each acknowledged ``turnaround_s`` after its last byte left: the
    timeout shrinks to its floor. Returns the time afterwards."""
    now = 0.0
    for i in range(40):
        arq.queue(m.SetBrightness(i))
        (wire,) = arq.poll(now)
        now += len(wire) * arq.config.byte_time_s + turnaround_s
        arq.receive(Frame(type=m.MsgType.ACK, ack=arq.tx_next), now)
        now += 0.1
    return now


@pytest.mark.parametrize("byte_time_s", [BAUD_115200, BAUD_921600])
def test_a_large_frame_after_small_ones_waits_for_its_wire_time(byte_time_s: float) -> None:
    a = Arq(ArqConfig(byte_time_s=byte_time_s))
    now = after_small_frames(a)
    assert a.rto_s == pytest.approx(0.05), "small frames: the RTO is at its 50 ms floor"
    assert a.stats.rtt_s == pytest.approx(0.005), "RTT samples leave out the wire time"
    a.queue(big_message())
    (wire,) = a.poll(now)
    wire_s = len(wire) * byte_time_s  # 357 ms at 115200 baud, 45 ms at 921600
    assert a.retransmit_at_s == pytest.approx(now + MARGIN * wire_s + a.rto_s)
    t = now
    while t < now + MARGIN * wire_s + a.rto_s - 0.001:  # still on the wire, or just left
        assert a.poll(t) == [], f"resent {t - now:.3f} s after sending"
        t += 0.001
    a.receive(Frame(type=m.MsgType.ACK, ack=a.tx_next), now + wire_s + 0.005)
    assert a.idle and a.stats.retransmits == 0
    assert a.stats.rtt_s == pytest.approx(0.005, abs=1e-3), "a big frame is no slow round trip"


def test_without_wire_time_the_large_frame_was_resent_too_early() -> None:
    """The bug the wire time fixes: a 50 ms RTO runs out while the frame is still on the wire."""
    a = Arq(ArqConfig(byte_time_s=0.0))
    now = after_small_frames(a)
    a.queue(big_message())
    a.poll(now)
    assert a.poll(now + 0.06) != [] and a.stats.retransmits == 1


@pytest.mark.parametrize("byte_time_s", [BAUD_115200, BAUD_921600])
@pytest.mark.parametrize("slower", [1.0, 1.1])
def test_a_window_of_large_frames_drains_without_retransmits(
    byte_time_s: float, slower: float
) -> None:
    """Eight 4 KB frames take 0.36 s on the wire at 921600 baud (2.9 s at 115200), or 10 %
    longer on a slow line; each is acknowledged 2 ms after its last byte, so the
    acknowledgements are further apart than the 50 ms RTO learnt from small frames."""
    a = Arq(ArqConfig(window=8, byte_time_s=byte_time_s))
    now = after_small_frames(a, turnaround_s=0.002)
    for _ in range(8):
        a.queue(big_message())
    wires = a.poll(now)
    assert len(wires) == 8
    acks, done = [], now
    for i, wire in enumerate(wires):
        done += len(wire) * byte_time_s * slower
        acks.append((done + 0.002, i + 1))
    t = now
    while not a.idle:
        assert t < now + 4.0
        for at, n in acks:
            if at <= t < at + 0.001:
                a.receive(Frame(type=m.MsgType.ACK, ack=(a.tx_next - 8 + n) % 256), t)
        assert a.poll(t) == [], f"resent at {t - now:.3f} s"
        t += 0.001
    assert a.stats.retransmits == 0


def test_a_lost_large_frame_is_resent_after_its_wire_time_and_the_rto() -> None:
    a = Arq(ArqConfig(byte_time_s=BAUD_115200))
    now = after_small_frames(a)
    a.queue(big_message())
    (wire,) = a.poll(now)  # lost on the line: no acknowledgement ever comes
    deadline = now + MARGIN * len(wire) * BAUD_115200 + a.rto_s
    assert a.poll(deadline - 0.001) == []
    (again,) = a.poll(deadline)
    assert a.stats.retransmits == 1 and len(again) == len(wire)
    # Backed off, and again counted from when the resent frame has left the wire.
    resent_left = deadline + MARGIN * len(again) * BAUD_115200
    assert a.retransmit_at_s == pytest.approx(resent_left + 0.1)
    a.receive(Frame(type=m.MsgType.ACK, ack=a.tx_next), deadline + 0.4)
    assert a.idle


def test_frames_queue_behind_each_other_on_the_wire() -> None:
    """The deadline of the oldest frame counts the bytes written before it, not after."""
    a = Arq(ArqConfig(window=4, byte_time_s=BAUD_115200, initial_rto_s=0.25))
    for _ in range(3):
        a.queue(big_message())
    first, second, _third = a.poll(0.0)
    t1 = len(first) * BAUD_115200
    assert a.retransmit_at_s == pytest.approx(MARGIN * t1 + 0.25)
    a.receive(Frame(type=m.MsgType.ACK, ack=1), t1 + 0.01)  # the first arrived
    t2 = t1 + len(second) * BAUD_115200  # behind the first
    assert a.retransmit_at_s == pytest.approx(MARGIN * t2 + a.rto_s)


def test_sequence_numbers_wrap() -> None:
    assert seq_diff(2, 250) == 8 and seq_diff(250, 2) == -8
    a, b = Arq(ArqConfig(window=8, max_pending=1000)), Arq()
    for i in range(600):
        a.queue(m.SetBrightness(i % 256))
    got: list[m.Message] = []
    now = 0.0
    while not a.idle:
        for frame in frame_of(a, now):
            got += b.receive(frame, now)[0]
        for frame in frame_of(b, now):
            a.receive(frame, now)
        now += TICK_S
    assert [x.level for x in got if isinstance(x, m.SetBrightness)] == [i % 256 for i in range(600)]


def test_encode_unsequenced_refuses_sequenced() -> None:
    with pytest.raises(ValueError, match="is sequenced"):
        Arq().encode_unsequenced(m.Reset())
    assert encode_frame(
        Frame(type=m.MsgType.PING, payload=b"\0\0\0\0")
    ) == Arq().encode_unsequenced(m.Ping(0))
