"""The SMP serial vectors of docs/protocol.md section 11.3, against the ``smp`` package's
encoder, an independent CRC and base64, and the simulator's line reader.

(The ENTER_BOOTLOADER frame vector of section 11.4 is checked with every other frame vector
by tests/test_protocol_vectors.py.)
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Final

import pytest

pytest.importorskip("smp", reason="the flash extra (smp) is not installed")

from smp import image_management as smpimg
from smp import os_management as smpos
from smp import packet

from hw_sim.smp_serial import SmpLineReader, encode_frame

pytestmark = pytest.mark.fast

DOC: Final = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
_BLOCK = re.compile(r"^```smp-serial\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _vectors() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for block in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        values: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith("  "):
                joiner = "" if key == "wire-text" else " "
                values[key] += joiner + line.strip()
            else:
                key, _, value = line.partition(": ")
                values[key] = value.strip()
        found[values["name"]] = values
    return found


VECTORS: Final = _vectors()
# What each vector's message must be, built independently with the smp package.
MESSAGES: Final = {
    "image_state_read_request": smpimg.ImageStatesReadRequest(sequence=0).BYTES,
    "os_reset_response": smpos.ResetWriteResponse(sequence=1).BYTES,
    "echo_request_two_lines": smpos.EchoWriteRequest(sequence=2, d="glasses " * 12).BYTES,
}


def wire_of(vector: dict[str, str]) -> bytes:
    text = vector["wire-text"].replace("\\n", "\n")
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text).encode(
        "latin-1"
    )


def test_the_document_has_the_vectors() -> None:
    assert set(VECTORS) == set(MESSAGES)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_vector_bytes_are_exact(name: str) -> None:
    vector = VECTORS[name]
    message = bytes.fromhex(vector["message"])
    assert message == MESSAGES[name]
    frame = bytes.fromhex(vector["frame"])
    crc = binascii.crc_hqx(message, 0)  # CRC-16/XMODEM
    assert frame == (len(message) + 2).to_bytes(2, "big") + message + crc.to_bytes(2, "big")
    wire = wire_of(vector)
    assert wire == encode_frame(message) == b"".join(packet.encode(message, line_length=128))
    lines = wire.splitlines(keepends=True)
    assert lines[0][:2] == b"\x06\x09" and all(line[:2] == b"\x04\x14" for line in lines[1:])
    assert all(len(line) <= 128 and line.endswith(b"\n") for line in lines)
    assert b"".join(base64.b64decode(line[2:-1]) for line in lines) == frame


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_the_device_reads_vectors_byte_by_byte(name: str) -> None:
    reader = SmpLineReader()
    got = [m for b in wire_of(VECTORS[name]) for m in reader.feed(bytes([b]))]
    assert got == [bytes.fromhex(VECTORS[name]["message"])]


def test_crc16_xmodem_check_value() -> None:
    assert binascii.crc_hqx(b"123456789", 0) == 0x31C3


def test_display_bytes_and_broken_frames_before_a_frame_are_skipped() -> None:
    wire = wire_of(VECTORS["image_state_read_request"])
    bad_crc = bytearray(wire_of(VECTORS["os_reset_response"]))
    bad_crc[5] ^= 0x01  # still base64, wrong CRC
    hello = bytes.fromhex("00 03 01 02 01 01 09 08 01 01 10 10 05 78 56 34 12 12 30 98 85 18 00")
    # A display HELLO, a marker inside junk, a frame with a bad CRC, then the real frame.
    stream = hello + b"\x06\x09\x00junk" + bytes(bad_crc) + wire
    reader = SmpLineReader()
    assert reader.feed(stream) == [bytes.fromhex(VECTORS["image_state_read_request"]["message"])]
    assert reader.bad_frames >= 1
