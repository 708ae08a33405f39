"""What keeps the link moving on a noisy wire: repeated NAKs, backoff dropped on progress,
PING round trips for the timeout, and frames shrunk to what gets through. Time is data."""

from __future__ import annotations

from firmware_bridge.frame_size import MIN_PAYLOAD, SAMPLE_FRAMES, FrameSizeGovernor
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.arq import Arq, ArqConfig
from firmware_bridge.protocol.frame import FrameDecoder, FrameError


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
    sent = retransmits = 0
    limits = []
    for _ in range(12):  # most frames need sending again
        sent, retransmits = sent + SAMPLE_FRAMES, retransmits + SAMPLE_FRAMES // 2
        limits.append(governor.judge(sent, retransmits))
    assert [x for x in limits if x] == [2048, 1024, 512, 256, 128, 64, MIN_PAYLOAD]
    assert governor.judge(sent + 1, retransmits) is None  # too few frames to judge
    for _ in range(8):  # a clean wire
        sent += SAMPLE_FRAMES
        governor.judge(sent, retransmits)
    assert governor.current == 4096
