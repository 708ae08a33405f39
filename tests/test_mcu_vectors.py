"""The C device library (mcu/) against every test vector of docs/protocol.md section 12.

Built natively with gcc and clang; the vectors are read from the document (vector_support) and
fed to the harness, which prints what the library decoded, encoded and sent. The frame vectors
are also played as one session, so the device's own replies (HELLO_ACK, EVENT(BOOT), PONG,
NAK, ACK, EVENT, LOG) are compared with the documented bytes.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from mcu_support import COMPILERS, Script, build_harness, tagged, tx_bytes
from vector_support import BY_NAME, Vector, ids, of_kind

from firmware_bridge.protocol import Frame, MsgType, encode_frame
from firmware_bridge.protocol.pixels import row_bytes

pytestmark = pytest.mark.process

PROFILE = "640x400x4"  # the profile of the frame vectors (section 12.5)


@pytest.fixture(scope="module", params=COMPILERS)
def harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_harness(tmp_path_factory.mktemp("mcu"), str(request.param), PROFILE)


def wire(name: str) -> bytes:
    return BY_NAME[name].hex("wire")


def ack_frame(ack: int) -> bytes:
    return encode_frame(Frame(type=MsgType.ACK, ack=ack))


def test_crc_vectors(harness: Path) -> None:
    vectors = of_kind("crc-vector")
    script = Script()
    for vec in vectors:
        data = (
            vec.values["input-ascii"].encode("ascii")
            if "input-ascii" in vec.values
            else vec.hex("input")
        )
        script.add(f"crc {data.hex()}")
    got = tagged(script.run(harness), "crc")
    assert got == [vec.values["crc"].upper().replace("0X", "0x") for vec in vectors]


def test_cobs_vectors(harness: Path) -> None:
    vectors = of_kind("cobs-vector")
    script = Script()
    for vec in vectors:
        script.add(f"cobs-dec {vec.hex('encoded').hex()}", f"cobs-enc {vec.hex('decoded').hex()}")
    got = tagged(script.run(harness), "cobs")
    for i, vec in enumerate(vectors):
        decoded, encoded = got[2 * i], got[2 * i + 1]
        assert decoded == vec.hex("decoded").hex(), f"{vec}: decoding"
        if vec.values["canonical"] == "yes":
            assert encoded == vec.hex("encoded").hex(), f"{vec}: encoding"


@pytest.mark.parametrize("vec", of_kind("packbits-vector"), ids=ids(of_kind("packbits-vector")))
def test_packbits_vector(harness: Path, vec: Vector) -> None:
    got = tagged(
        Script().add(f"packbits {vec.values['length']} {vec.hex('encoded').hex()}").run(harness),
        "packbits",
    )
    if vec.values["decoded"] == "error":
        assert got[0].startswith("error"), vec
    else:
        assert got == [vec.hex("decoded").hex()], vec


@pytest.mark.parametrize("vec", of_kind("stream-vector"), ids=ids(of_kind("stream-vector")))
def test_stream_vector(harness: Path, vec: Vector) -> None:
    out = Script().add(f"frames {vec.values['max-payload']} {vec.hex('wire').hex()}").run(harness)
    expected: list[str] = []
    for token in vec.values["expect"].split():
        kind, _, ref = token.partition(":")
        if kind == "error":
            expected.append(f"error {ref}")
        else:
            frame = BY_NAME[ref]
            h = frame.hex("header")
            expected.append(
                f"frame {h[0]} {h[1]} {h[2]} {h[3]} {h[4]} payload {frame.hex('payload').hex()}"
            )
    assert [line for line in out if line.startswith(("frame", "error"))] == expected
    assert out[-1] == "buffered 0"


@pytest.mark.parametrize("vec", of_kind("frame-vector"), ids=ids(of_kind("frame-vector")))
def test_frame_vector_both_ways(harness: Path, vec: Vector) -> None:
    """The library's receiver decodes ``wire`` to the vector's header and payload, and its
    sender encodes them back to ``wire`` byte for byte."""
    h, payload = vec.hex("header"), vec.hex("payload")
    out = (
        Script()
        .add("init 0", "out", f"frames 65535 {vec.hex('wire').hex()}")
        .add(f"enc {h[1]} {vec.values['seq']} {vec.values['ack']} {payload.hex()}")
        .run(harness)
    )
    assert tagged(out, "frame") == [f"{h[0]} {h[1]} {h[2]} {h[3]} {h[4]} payload {payload.hex()}"]
    assert tx_bytes(out)[1:] == [vec.hex("wire")]


def test_boot_and_no_session_replies(harness: Path) -> None:
    no_session_frame = encode_frame(Frame(type=MsgType.CLEAR, seq=7, payload=b"\x00"))
    no_common = encode_frame(
        Frame(type=MsgType.HELLO, payload=bytes.fromhex("02 03 00 10 FE CA AD 0B"))
    )
    out = Script().add("init 0", "poll").rx(no_session_frame).add("poll").rx(no_common)
    sent = tx_bytes(out.add("poll", "state").run(harness))
    assert sent[0] == b"\x00" + wire("nak_no_session_announcement")
    assert sent[1] == wire("nak_no_session_reply")
    assert sent[2] == wire("hello_ack_no_common_version")


def _session_script() -> Script:
    """A session played from the frame vectors in their sequence order (section 12.5)."""
    s = Script().add("init 0", "out", "t 35").rx(wire("hello")).add("poll")
    s.rx(wire("blit_raw")).add("poll")  # seq 0, then a PING while one frame is delivered
    s.rx(wire("ping")).add("poll")
    for name in ("blit_packbits", "present", "clear", "set_brightness", "sleep", "wake"):
        s.rx(wire(name)).add("poll", "state")
    # The device's events and logs of section 12.5, acknowledged by the host one by one; the
    # events posted through the port interface's typed calls (gl_post_button, ...).
    s.add("t 83456", "post button 0 2", "poll").rx(ack_frame(2))
    s.add("t 600000", "post battery 76 1", "poll").rx(ack_frame(3))
    s.add("t 1234567", "post temperature -1250", "poll").rx(ack_frame(4))
    s.add(f"log 2 {'temp 41 °C'.encode().hex()}", "poll").rx(ack_frame(5))
    text = json.loads(BY_NAME["log_long"].values["fields"])["text"]
    s.add(f"log 0 {text.encode().hex()}", "poll").rx(ack_frame(6))
    s.rx(wire("copy_scroll_up")).add("poll", "dump")
    return s


def test_a_session_of_frame_vectors(harness: Path) -> None:
    out = _session_script().run(harness)
    sent = tx_bytes(out)[1:]  # after the boot announcement
    assert sent[0] == wire("hello_ack") + wire("event_boot")
    assert sent[1] == ack_frame(1)  # blit_raw delivered
    assert sent[2] == wire("pong")
    assert sent[3:9] == [ack_frame(n) for n in range(2, 8)]
    assert sent[9:14] == [
        wire(n) for n in ("event_button_long_press", "event_battery", "event_temperature")
    ] + [wire("log"), wire("log_long")]
    assert sent[14] == ack_frame(8)  # copy_scroll_up delivered
    states = tagged(out, "state")
    assert "brightness=200" in states[3] and "panel_level=200" in states[3]
    assert "sleeping=1" in states[4] and "panel_on=0" in states[4]
    assert "sleeping=0" in states[5] and "panel_on=1" in states[5]
    # PRESENT (seq 2) showed both BLITs; CLEAR (seq 3) then emptied the back buffer only.
    stride = row_bytes(640, 4)
    front = bytearray(stride * 400)
    front[0:4] = bytes.fromhex("01234567")
    front[stride : stride + 4] = bytes.fromhex("76543210")
    rows = BY_NAME["packbits_blit_example"].hex("decoded")
    for r in range(4):
        at = (8 + r) * stride + 8
        front[at : at + 8] = rows[8 * r : 8 * r + 8]
    assert bytes.fromhex(tagged(out, "front")[0]) == bytes(front)
    assert bytes.fromhex(tagged(out, "back")[0]) == bytes(stride * 400)


def test_typed_inputs_post_their_events(harness: Path) -> None:
    """gl_post_swipe, gl_post_worn and gl_post_battery (clamped to 100 %, charging as 0/1)
    send the EVENTs of section 6.2, numbered after the BOOT event."""
    s = Script().add("t 0", "init 0", "out").rx(wire("hello")).add("poll", "t 70")
    s.add("post swipe 3", "post worn 5", "post battery 180 7", "post worn 0", "poll")
    sent = tx_bytes(s.run(harness))[-1]
    events = [(2, 3, 0), (5, 1, 0), (3, 100, 1), (5, 0, 0)]
    assert sent == b"".join(
        encode_frame(Frame(type=MsgType.EVENT, seq=n, payload=struct.pack("<BBhI", *e, 70)))
        for n, e in enumerate(events, start=1)
    )


def test_reset_vector_reboots_after_its_ack(harness: Path) -> None:
    s = Script().add("init 0", "out").rx(wire("hello")).add("poll")
    for seq in range(9):  # bring the expected seq to the vector's 9
        s.rx(encode_frame(Frame(type=MsgType.SET_BRIGHTNESS, seq=seq, ack=1, payload=b"\x07")))
    s.add("poll").rx(wire("reset")).add("poll", "t 99", "poll", "t 100", "poll", "state")
    out = s.run(harness)
    sent = tx_bytes(out)
    assert sent[2] == ack_frame(9) and sent[3] == ack_frame(10)
    assert sent[4] == b""  # 99 ms: not yet
    assert sent[5] == b"\x00" + wire("nak_no_session_announcement")
    assert "session=0" in tagged(out, "state")[0] and "boots=2" in tagged(out, "state")[0]
    # After the reboot the BOOT event says why (code 2).
    again = s.add("out").rx(wire("hello")).add("poll").run(harness)
    assert tx_bytes(again)[-1].endswith(
        encode_frame(Frame(type=MsgType.EVENT, payload=bytes.fromhex("06 02 00 00 00 00 00 00")))
    )


@pytest.mark.parametrize("bootloader", [1, 0], ids=["handover", "no-bootloader"])
def test_enter_bootloader_vector(harness: Path, bootloader: int) -> None:
    s = Script().add(f"bootloader {bootloader}", "init 0", "out").rx(wire("hello")).add("poll")
    s.rx(wire("enter_bootloader")).add("poll", "state").rx(wire("ping")).add("poll", "state")
    out = s.run(harness)
    sent, states = tx_bytes(out)[1:], tagged(out, "state")
    if bootloader:
        assert sent[1] == ack_frame(1)
        assert "smp=1 idle_s=120" in states[0] and "mode=1" in states[0]
        assert sent[2] == b""  # SMP owns the port: display frames are no longer parsed
    else:
        error = encode_frame(
            Frame(type=MsgType.ERROR, ack=1, payload=b"\x00\x30\x03ENTER_BOOTLOADER not accepted")
        )
        assert sent[1] == error and "smp=0" in states[0]
