"""Go-back-N in the C library with a moving clock (section 8): EVENT and LOG retransmission with
the timeout doubling, go back on NAK, stop on ACK; duplicates re-acknowledged, one NAK per gap."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcu_support import Script, build_harness, tx_bytes

from firmware_bridge.protocol import Frame, MsgType, encode_frame

pytestmark = pytest.mark.process

BOOT_EVENT = encode_frame(Frame(type=MsgType.EVENT, payload=bytes.fromhex("0600000000000000")))
HELLO = encode_frame(Frame(type=MsgType.HELLO, payload=bytes.fromhex("01010010 78563412")))


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_harness(tmp_path_factory.mktemp("mcu"), "gcc", "640x400x4")


def host(type_: MsgType, seq: int = 0, ack: int = 0, payload: bytes = b"") -> bytes:
    return encode_frame(Frame(type=type_, seq=seq, ack=ack, payload=payload))


def test_event_retransmitted_with_backoff_until_acknowledged(harness: Path) -> None:
    s = Script().add("t 0", "init 0", "out").rx(HELLO).add("poll")
    for t in (499, 500, 1499, 1500):
        s.add(f"t {t}", "poll")
    s.add("t 1600").rx(host(MsgType.NAK, payload=b"\x00\x01")).add("poll")  # BAD_CRC: go back
    s.add("t 1700").rx(host(MsgType.ACK, ack=1)).add("poll", "t 10000", "poll")
    sent = tx_bytes(s.run(harness))[1:]
    assert sent[0].endswith(BOOT_EVENT)  # after the HELLO_ACK
    assert sent[1:] == [b"", BOOT_EVENT, b"", BOOT_EVENT, BOOT_EVENT, b"", b""]


def test_log_retransmitted_with_backoff_until_acknowledged(harness: Path) -> None:
    # The boot EVENT acknowledged at once: a round trip of 0 puts the RTO on the device's
    # 100 ms floor (GL_RTO_MIN_MS), so the LOG is resent 100 ms, then 200 ms after.
    s = Script().add("t 0", "init 0", "out").rx(HELLO).add("poll").rx(host(MsgType.ACK, ack=1))
    s.add("poll", "t 100", f"log 2 {b'hi'.hex()}", "poll")
    for t in (199, 200, 399, 400):
        s.add(f"t {t}", "poll")
    s.add("t 450").rx(host(MsgType.ACK, ack=2)).add("poll", "t 10000", "poll")
    lines = s.run(harness)
    log = encode_frame(Frame(type=MsgType.LOG, seq=1, payload=b"\x02hi"))  # level 2, "hi"
    assert "log 1" in lines  # queued
    assert tx_bytes(lines)[2:] == [b"", log, b"", log, b"", log, b"", b""]


def test_duplicates_are_reacknowledged_and_a_gap_nakked_once(harness: Path) -> None:
    clear = b"\x00"
    s = Script().add("t 0", "init 0", "out").rx(HELLO).add("poll")
    s.rx(host(MsgType.CLEAR, 0, 1, clear)).add("poll")  # in order: ACK(1)
    s.rx(host(MsgType.CLEAR, 0, 1, clear)).add("poll")  # duplicate: ACK(1) again
    s.rx(host(MsgType.CLEAR, 2, 1, clear)).add("poll")  # gap: NAK(1, OUT_OF_SEQUENCE)
    s.rx(host(MsgType.CLEAR, 3, 1, clear)).add("poll")  # same gap: nothing
    s.rx(b"\x01\x02\x03\x00").add("poll")  # corrupt: its NAK shares the budget
    s.add("t 10").rx(host(MsgType.CLEAR, 3, 1, clear)).add("poll")  # 10 ms later: NAK again
    sent = tx_bytes(s.run(harness))[2:]
    ack1 = encode_frame(Frame(type=MsgType.ACK, ack=1))
    nak = encode_frame(Frame(type=MsgType.NAK, ack=1, payload=b"\x01\x05"))
    assert sent == [ack1, ack1, nak, b"", b"", nak]
