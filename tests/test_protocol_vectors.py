"""The test vectors of docs/protocol.md (section 12) against the reference codec, both ways.

The expected messages are written out here, independently of the document: a vector passes
only if the document, this table and the encoder/decoder all agree byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
import re
import struct
from enum import IntEnum
from typing import Any, Final

import pytest
from vector_support import BY_NAME, DOC_TEXT, KINDS, VECTORS, Vector, ids, of_kind

from firmware_bridge.protocol import (
    Ack,
    Blit,
    ButtonAction,
    Clear,
    Copy,
    Encoding,
    EnterBootloader,
    Error,
    Event,
    EventKind,
    Frame,
    FrameDecoder,
    FrameError,
    Hello,
    HelloAck,
    Log,
    LogLevel,
    Message,
    MsgType,
    Nak,
    Ping,
    Pong,
    Present,
    Reason,
    Reset,
    SetBrightness,
    Sleep,
    SwipeDirection,
    Wake,
    cobs,
    decode_payload,
    encode_frame,
    encode_payload,
    packbits,
    parse_frame,
)
from firmware_bridge.protocol.frame import HEADER, crc32

pytestmark = pytest.mark.fast

_BLIT_PACKBITS_ROWS = bytes.fromhex("0123456789ABCDEF") + b"\xff" * 16 + b"\x00" * 8

# name -> (message, seq, ack): what each frame vector of the document must encode.
EXPECTED: Final[dict[str, tuple[Message, int, int]]] = {
    "ack": (Ack(), 0, 6),
    "hello": (Hello(min_version=1, max_version=1, max_payload=4096, session_id=0x12345678), 0, 0),
    "hello_ack": (
        HelloAck(
            version=1,
            min_version=1,
            max_version=1,
            width_px=640,
            height_px=400,
            bpp=4,
            max_payload=4096,
            window=8,
            fw_version=(0, 3, 0),
            session_id=0x12345678,
            board_id="glasses-proto-640",
        ),
        0,
        0,
    ),
    "hello_ack_no_common_version": (
        HelloAck(
            version=0,
            min_version=1,
            max_version=1,
            width_px=640,
            height_px=400,
            bpp=4,
            max_payload=4096,
            window=8,
            fw_version=(0, 3, 0),
            session_id=0x0BADCAFE,
            board_id="glasses-proto-640",
        ),
        0,
        0,
    ),
    "ping": (Ping(token=0xDEADBEEF), 0, 3),
    "pong": (Pong(token=0xDEADBEEF), 0, 1),
    "nak_out_of_sequence": (Nak(ref_seq=5, reason=Reason.OUT_OF_SEQUENCE), 0, 5),
    "nak_bad_crc": (Nak(ref_seq=5, reason=Reason.BAD_CRC), 0, 5),
    "nak_no_session_announcement": (Nak(ref_seq=0, reason=Reason.NO_SESSION), 0, 0),
    "nak_no_session_reply": (Nak(ref_seq=7, reason=Reason.NO_SESSION), 0, 0),
    "error_bad_rect": (
        Error(ref_seq=4, ref_type=MsgType.BLIT, reason=Reason.BAD_RECT, detail="x+w > 640"),
        0,
        5,
    ),
    "reset": (Reset(), 9, 2),
    "blit_raw": (
        Blit(0, 0, 8, 2, Encoding.RAW, bytes.fromhex("01 23 45 67 76 54 32 10")),
        0,
        0,
    ),
    "blit_packbits": (
        Blit(16, 8, 16, 4, Encoding.PACKBITS, packbits.encode(_BLIT_PACKBITS_ROWS)),
        1,
        0,
    ),
    "present": (Present(frame_id=1), 2, 0),
    "clear": (Clear(level=0), 3, 1),
    "set_brightness": (SetBrightness(level=200), 4, 1),
    "sleep": (Sleep(), 5, 1),
    "wake": (Wake(), 6, 1),
    "copy_scroll_up": (
        Copy(src_x=0, src_y=304, width_px=640, height_px=88, dst_x=0, dst_y=260),
        7,
        1,
    ),
    "event_button_long_press": (
        Event(EventKind.BUTTON, code=0, value=ButtonAction.LONG_PRESS, uptime_ms=83_456),
        1,
        7,
    ),
    "event_battery": (Event(EventKind.BATTERY, code=76, value=1, uptime_ms=600_000), 2, 7),
    "event_boot": (Event(EventKind.BOOT, code=0, value=0, uptime_ms=35), 0, 0),
    "event_temperature": (
        Event(EventKind.TEMPERATURE, code=0, value=-1250, uptime_ms=1_234_567),
        3,
        7,
    ),
    "log": (Log(LogLevel.WARNING, "temp 41 °C"), 4, 7),
    "log_long": (Log(LogLevel.DEBUG, "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 11 + "ABCDEFGHIJKLMN"), 5, 7),
    "enter_bootloader": (EnterBootloader(magic=0x31504D53, idle_timeout_s=120), 0, 1),
}


def feed_all(decoder: FrameDecoder, data: bytes, *, bytewise: bool = False) -> list[Any]:
    items: list[Frame | FrameError] = []
    chunks = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    for chunk in chunks:
        items.extend(decoder.feed(chunk))
    return items


def message_from_fields(template: Message, fields: dict[str, Any]) -> Message:
    """A message of ``template``'s class built from the document's JSON ``fields``."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(template):
        value = fields[f.name]
        current = getattr(template, f.name)
        if isinstance(current, bytes):
            value = bytes.fromhex(value)
        elif isinstance(current, tuple):
            value = tuple(value)
        kwargs[f.name] = value
    return type(template)(**kwargs)


# -- the document itself ----------------------------------------------------------------------


def test_document_has_vectors_of_every_kind() -> None:
    assert {v.kind for v in VECTORS} == set(KINDS)
    names = [v.name for v in VECTORS]
    assert len(names) == len(set(names)), "vector names must be unique"


def test_every_message_type_has_a_frame_vector() -> None:
    covered = {MsgType[v.values["message"]] for v in of_kind("frame-vector")}
    missing = sorted(t.name for t in set(MsgType) - covered)
    assert not missing, f"no frame vector for {missing}"


def test_expected_table_matches_the_document() -> None:
    in_doc = set(ids(of_kind("frame-vector")))
    assert in_doc - EXPECTED.keys() == set(), "document vectors missing from EXPECTED"
    assert EXPECTED.keys() - in_doc == set(), "EXPECTED vectors missing from the document"


@pytest.mark.parametrize(
    ("enum", "code_format"),
    [
        (MsgType, "0x{:02X}"),
        (Reason, "{}"),
        (EventKind, "{}"),
        (ButtonAction, "{}"),
        (SwipeDirection, "{}"),
        (LogLevel, "{}"),
        (Encoding, "{}"),
    ],
)
def test_code_tables_list_every_code(enum: type[IntEnum], code_format: str) -> None:
    """Each code appears as a table row ``| <code> | <NAME> |`` with the value the code has."""
    for member in enum:
        code = re.escape(code_format.format(int(member)))
        row = re.compile(rf"^\|\s*{code}\s*\|\s*{member.name}\s*\|", re.MULTILINE)
        assert row.search(DOC_TEXT), f"no table row for {enum.__name__}.{member.name}"


# -- frames -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_frame_vector_encodes_exactly(name: str) -> None:
    vec = BY_NAME[name]
    msg, seq, ack = EXPECTED[name]
    assert vec.values["message"] == msg.TYPE.name
    fields = json.loads(vec.values["fields"])
    assert list(fields) == [f.name for f in dataclasses.fields(msg)], "fields in payload order"
    assert message_from_fields(msg, fields) == msg
    assert (int(vec.values["seq"]), int(vec.values["ack"])) == (seq, ack)

    payload = encode_payload(msg)
    header = HEADER.pack(1, msg.TYPE, 0, seq, ack, len(payload))
    crc = struct.pack("<I", crc32(header + payload))
    assert vec.hex("header") == header
    assert vec.hex("payload") == payload
    assert vec.hex("crc") == crc
    wire = encode_frame(Frame(type=msg.TYPE, seq=seq, ack=ack, payload=payload))
    assert vec.hex("wire") == wire
    assert wire == cobs.encode(header + payload + crc) + b"\x00"


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_frame_vector_decodes_exactly(name: str, bytewise: bool) -> None:
    vec = BY_NAME[name]
    msg, seq, ack = EXPECTED[name]
    decoder = FrameDecoder()
    items = feed_all(decoder, vec.hex("wire"), bytewise=bytewise)
    assert len(items) == 1 and isinstance(items[0], Frame), items
    frame = items[0]
    assert (frame.version, frame.type, frame.flags, frame.seq, frame.ack) == (
        1,
        msg.TYPE,
        0,
        seq,
        ack,
    )
    assert decode_payload(frame.type, frame.payload) == msg
    assert decoder.buffered == 0


# -- CRC, COBS, PackBits ----------------------------------------------------------------------


@pytest.mark.parametrize("vec", of_kind("crc-vector"), ids=ids(of_kind("crc-vector")))
def test_crc_vector(vec: Vector) -> None:
    if "input-ascii" in vec.values:
        data = vec.values["input-ascii"].encode("ascii")
    else:
        data = vec.hex("input")
    assert crc32(data) == int(vec.values["crc"], 16)
    assert vec.hex("wire") == struct.pack("<I", crc32(data))


def test_crc_check_value() -> None:
    assert crc32(b"123456789") == 0xCBF43926
    assert BY_NAME["crc_check"].values["crc"].upper() == "0XCBF43926"


@pytest.mark.parametrize("vec", of_kind("cobs-vector"), ids=ids(of_kind("cobs-vector")))
def test_cobs_vector(vec: Vector) -> None:
    decoded, encoded = vec.hex("decoded"), vec.hex("encoded")
    assert 0 not in encoded
    assert cobs.decode(encoded) == decoded
    assert len(encoded) <= cobs.max_encoded_len(len(decoded))
    assert vec.values["canonical"] in ("yes", "no")
    if vec.values["canonical"] == "yes":
        assert cobs.encode(decoded) == encoded
    else:
        assert cobs.encode(decoded) != encoded


@pytest.mark.parametrize("vec", of_kind("packbits-vector"), ids=ids(of_kind("packbits-vector")))
def test_packbits_vector(vec: Vector) -> None:
    encoded, length = vec.hex("encoded"), int(vec.values["length"])
    if vec.values["decoded"] == "error":
        assert vec.values["canonical"] == "no"
        with pytest.raises(packbits.PackBitsError):
            packbits.decode(encoded, length)
        return
    decoded = vec.hex("decoded")
    assert len(decoded) == length
    assert packbits.decode(encoded, length) == decoded
    assert vec.values["canonical"] in ("yes", "no")
    if vec.values["canonical"] == "yes":
        assert packbits.encode(decoded) == encoded
        assert len(encoded) <= packbits.max_encoded_len(length)
    else:
        assert packbits.encode(decoded) != encoded


def test_blit_packbits_vector_uses_the_packbits_example() -> None:
    example = BY_NAME["packbits_blit_example"]
    blit, _, _ = EXPECTED["blit_packbits"]
    assert isinstance(blit, Blit)
    assert example.hex("decoded") == _BLIT_PACKBITS_ROWS
    assert example.hex("encoded") == blit.data


# -- streams ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("vec", of_kind("stream-vector"), ids=ids(of_kind("stream-vector")))
def test_stream_vector(vec: Vector, bytewise: bool) -> None:
    decoder = FrameDecoder(max_payload=int(vec.values["max-payload"]))
    got: list[Frame | str] = [
        f"error:{item.reason}" if isinstance(item, FrameError) else item
        for item in feed_all(decoder, vec.hex("wire"), bytewise=bytewise)
    ]
    expected: list[Frame | str] = []
    for token in vec.values["expect"].split():
        kind, _, ref = token.partition(":")
        assert kind in ("frame", "error"), token
        if kind == "frame":
            expected.append(parse_frame(BY_NAME[ref].hex("wire")[:-1]))
        else:
            assert ref in ("overflow", "cobs", "short", "crc", "length"), token
            expected.append(token)
    assert got == expected
    assert decoder.buffered == 0


# -- the simulated device speaks the documented bytes -----------------------------------------


def test_simulated_device_boot_and_handshake_match_the_vectors() -> None:
    from hw_sim.device import DisplayDevice
    from hw_sim.profiles import PROFILES

    device = DisplayDevice(PROFILES["640x400x4"], 0.0)
    announcement = device.poll(0.0)
    assert announcement.strip(b"\x00") + b"\x00" == BY_NAME["nak_no_session_announcement"].hex(
        "wire"
    )
    device.receive_bytes(BY_NAME["hello"].hex("wire"), 0.035)
    reply = device.poll(0.035)
    assert reply == BY_NAME["hello_ack"].hex("wire") + BY_NAME["event_boot"].hex("wire")
