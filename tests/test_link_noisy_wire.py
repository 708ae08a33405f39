"""What keeps the link moving on a noisy wire: repeated NAKs, backoff dropped on progress,
PING round trips for the timeout, and frames shrunk to what gets through. Time is data."""

from __future__ import annotations

import pytest

from firmware_bridge.frame_size import MIN_PAYLOAD, FrameSizeGovernor, loss_interval
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.arq import Arq, ArqConfig
from firmware_bridge.protocol.frame import Frame, FrameDecoder, FrameError

pytestmark = pytest.mark.fast


def frames(data: list[bytes]) -> list[m.Message]:
    decoder, out = FrameDecoder(), []
    for chunk in data:
        for item in decoder.feed(chunk):
            assert not isinstance(item, FrameError)
            out.append(m.decode_payload(item.type, item.payload))
    return out


def test_a_nak_is_repeated_for_a_frame_lost_again_but_not_flooded() -> None:
    sender, receiver = Arq(), Arq(ArqConfig(nak_repeat_s=0.01))
    for level in range(4):
        sender.queue(m.Clear(level))
    wire = sender.poll(0.0)
    decoder = FrameDecoder()
    later = [f for chunk in wire[1:] for f in decoder.feed(chunk)]  # the first frame is lost
    naks = [receiver.receive(f, 0.001)[1] for f in later[:2]]  # type: ignore[arg-type]
    assert len(naks[0]) == 1 and naks[1] == []  # one NAK per burst...
    again = receiver.receive(later[2], 0.02)[1]  # type: ignore[arg-type]
    assert frames(again) == [m.Nak(0, m.Reason.OUT_OF_SEQUENCE)]  # ...and again later


BYTE_TIME_S = 10 / 921_600


def nak_for(seq: int) -> Frame:
    payload = m.encode_payload(m.Nak(seq, m.Reason.BAD_CRC))
    return Frame(type=m.MsgType.NAK, seq=0, ack=seq, payload=payload)


def sent_window(n: int = 8) -> Arq:
    arq = Arq(ArqConfig(byte_time_s=BYTE_TIME_S))
    for _ in range(n):
        arq.queue(m.Blit(0, 0, 8, 1, m.Encoding.RAW, bytes(200)))
    assert len(arq.poll(0.0)) == n  # 222 bytes each: 2.4 ms of wire
    return arq


def test_a_nak_for_a_frame_sent_once_is_obeyed_however_early_it_comes() -> None:
    # A line faster than the model (a UART burst, a USB adapter) delivers the NAK before the
    # model says the frame has even left; it is still news, and waiting costs a timeout.
    arq = sent_window()
    arq.receive(nak_for(0), 0.0005)
    assert len(arq.poll(0.0006)) == 8 and arq.stats.retransmits == 8


def test_a_stale_nak_for_a_resent_frame_is_ignored_but_not_one_that_may_be_fresh() -> None:
    arq = sent_window()
    arq.receive(nak_for(0), 0.0005)
    assert len(arq.poll(0.0006)) == 8  # gone back: the copies queue behind the first window
    head_arrives_s = 9 * 222 * BYTE_TIME_S  # behind the 8 first copies: ~21.7 ms
    # Old copies still draining draw NAKs that answer them, not the resent head: ignored.
    arq.receive(nak_for(0), head_arrives_s - 0.010)
    assert arq.poll(head_arrives_s - 0.010) == []
    # Within line_lead_s (5 ms) of when the resent head can have arrived, the NAK may be news.
    arq.receive(nak_for(0), head_arrives_s - 0.004)
    assert len(arq.poll(head_arrives_s - 0.004)) == 8 and arq.stats.retransmits == 16


def test_acknowledged_progress_drops_the_timeout_backoff() -> None:
    arq = Arq(ArqConfig(initial_rto_s=0.1, min_rto_s=0.05, max_rto_s=4.0))
    arq.observe_rtt(0.02)
    base_rto_s = arq.rto_s
    arq.queue(m.Clear(1))
    arq.queue(m.Clear(2))
    now_s = 0.0
    arq.poll(now_s)
    for _ in range(5):  # nothing answers: the timeout doubles each time
        now_s = arq.retransmit_at_s or now_s
        arq.poll(now_s)
    assert arq.rto_s > 8 * base_rto_s
    peer = Arq()
    decoder = FrameDecoder()
    (first,) = [f for f in decoder.feed(arq.poll(now_s + 10)[0])]
    peer.receive(first, now_s)  # type: ignore[arg-type]
    (ack,) = [f for chunk in peer.poll(now_s) for f in FrameDecoder().feed(chunk)]
    arq.receive(ack, now_s + 10.001)  # type: ignore[arg-type]
    assert arq.unacked == 1 and arq.rto_s == base_rto_s


def test_a_ping_round_trip_sets_the_timeout() -> None:
    arq = Arq(ArqConfig(initial_rto_s=0.5, min_rto_s=0.01))
    arq.observe_rtt(0.004)
    assert arq.rto_s < 0.05 and arq.stats.rtt_s == 0.004


def test_largest_payload_counts_frames_in_flight_and_waiting() -> None:
    arq = Arq(ArqConfig(window=1))
    arq.queue(m.Clear(0))
    arq.queue(m.Blit(0, 0, 8, 1, m.Encoding.RAW, bytes(100)))
    assert arq.largest_payload == 9 + 100
    arq.poll(0.0)  # the CLEAR in flight, the BLIT waiting
    assert arq.largest_payload == 109


def test_frames_shrink_on_a_lossy_wire_and_grow_back_on_a_clean_one() -> None:
    governor = FrameSizeGovernor(device_max=4096)
    delivered = lost = 0
    limits = []
    for _ in range(40):  # a frame that never gets through: three losses in a row halve it
        lost += 1
        limits.append(governor.judge(delivered, lost))
    assert [x for x in limits if x] == [2048, 1024, 512, 256, 128, 64, MIN_PAYLOAD]
    assert limits[:3] == [None, None, 2048]
    grown = []
    for _ in range(3000):  # a clean wire: enough deliveries without a loss double it back
        delivered += 1
        grown.append(governor.judge(delivered, lost))
    assert [x for x in grown if x] == [96, 192, 384, 768, 1536, 3072, 4096]


def test_a_size_that_loses_one_frame_in_ten_is_kept() -> None:
    # Go-back-N resends a window per loss; judging by resent frames would count this wire
    # several times worse and shrink the frames to the minimum, which is slower.
    governor = FrameSizeGovernor(device_max=4096, current=96)
    delivered = lost = 0
    for _ in range(200):
        delivered, lost = delivered + 9, lost + 1
        assert governor.judge(delivered, lost) is None
    assert governor.current == 96
    for _ in range(60):  # then one frame in three
        delivered, lost = delivered + 2, lost + 1
        governor.judge(delivered, lost)
    assert governor.current < 96


@pytest.mark.parametrize(("lost", "trials"), [(0, 10), (3, 3), (10, 100), (1, 1000)])
def test_the_loss_interval_holds_the_observed_rate(lost: int, trials: int) -> None:
    low, high = loss_interval(lost, trials)
    assert 0.0 <= low <= lost / trials <= high <= 1.0
    assert loss_interval(lost * 10, trials * 10)[1] - loss_interval(lost * 10, trials * 10)[0] < (
        high - low
    )  # more evidence, a narrower interval


def test_the_arq_counts_deliveries_and_recoveries() -> None:
    arq = sent_window(4)
    arq.receive(nak_for(0), 0.001)
    arq.poll(0.001)  # a go-back: one recovery, four resent frames
    arq.poll(10.0)  # nothing acknowledged: a timeout, another recovery
    assert (arq.stats.delivered, arq.stats.recoveries, arq.stats.retransmits) == (0, 2, 8)
    arq.receive(nak_for(2), 10.01)  # its header acknowledges frames 0 and 1
    assert arq.stats.delivered == 2
