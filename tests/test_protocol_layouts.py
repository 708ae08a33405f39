"""The message table (firmware_bridge.protocol.layouts) against docs/protocol.md, sections 5.1,
5.2 and 11.1: type codes, names, directions, sequencing, payload sizes and every field's offset,
size and name must agree, since other codecs (the device library's C header) are made from it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

from firmware_bridge.protocol import layouts
from firmware_bridge.protocol.codes import MsgType
from firmware_bridge.protocol.layouts import (
    MESSAGE_LAYOUTS,
    SEQUENCED,
    Direction,
    Field,
    MessageLayout,
    Tail,
)

pytestmark = pytest.mark.fast

DOC: Final = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text("utf-8")
DIRECTIONS: Final = {"H→D": Direction.HOST_TO_DEVICE, "D→H": Direction.DEVICE_TO_HOST}
WIRE_SIZES: Final = {"u8": "B", "u16": "H", "i16": "h", "u32": "I"}


def section(title: str) -> str:
    start = DOC.index(title)
    return DOC[start : DOC.index("\n## ", start)]


def message_table() -> dict[str, list[str]]:
    """Section 5.1's rows by name: [type, name, direction, seq, payload bytes, purpose]."""
    rows = re.findall(r"^\| (0x[0-9A-F]{2} \|.*)\|$", section("### 5.1 Message table"), re.M)
    return {cells[1]: cells for cells in ([c.strip() for c in r.split("|")] for r in rows)}


def field_rows(name: str) -> list[tuple[int, str, str]]:
    """(offset, size, field) rows of the layout table that follows the message's heading."""
    text = section("## 11. Firmware") if name == "ENTER_BOOTLOADER" else section("### 5.2 Payload")
    heading = re.search(rf"(\*\*|### 11\.1 ){name} \(0x", text)
    assert heading, f"no layout heading for {name} in docs/protocol.md"
    rows = re.findall(r"^\| (\d+) \| (\w+) \| `(\w+)` \|", text[heading.end() :], re.M)
    table: list[tuple[int, str, str]] = []
    for offset, size, field in rows:  # up to the end of the first table after the heading
        if table and int(offset) <= table[-1][0]:
            break
        table.append((int(offset), size, field))
    return table


def expected_rows(layout: MessageLayout) -> list[tuple[int, str, str]]:
    rows: list[tuple[int, str, str]] = []
    offset = 0
    size_names = {v: k for k, v in WIRE_SIZES.items()}
    for f in layout.fields:
        for _ in range(f.count):
            rows.append((offset, size_names[f.fmt], f.name))
            offset += f.size // f.count
    if layout.tail is not None and layout.tail.length_prefixed:
        rows.append((offset, "u8", f"{layout.tail.name}_len"))
        offset += 1
    if layout.tail is not None:
        rows.append((offset, "", layout.tail.name))
    return rows


def test_every_type_code_has_one_layout_in_code_order() -> None:
    assert [lay.code for lay in MESSAGE_LAYOUTS] == sorted(MsgType)
    sequenced_in_doc = {name for name, cells in message_table().items() if cells[3] == "yes"}
    assert {code.name for code in SEQUENCED} == sequenced_in_doc


@pytest.mark.parametrize("layout", MESSAGE_LAYOUTS, ids=lambda lay: lay.name)
def test_layout_matches_the_message_table(layout: MessageLayout) -> None:
    code, name, direction, seq, size = message_table()[layout.name][:5]
    assert int(code, 16) == layout.code and name == layout.name
    assert DIRECTIONS.get(direction, Direction.BOTH) is layout.direction, direction
    assert seq == ("yes" if layout.sequenced else "no")
    if layout.tail is None:
        assert size == str(layout.fixed_len)
    elif layout.tail.max_len is None:
        assert size == f"≥ {layout.min_len}"
    else:
        assert size == f"{layout.min_len} + n (n ≤ {layout.tail.max_len})"
        assert layout.max_len == layout.min_len + layout.tail.max_len


@pytest.mark.parametrize("layout", MESSAGE_LAYOUTS, ids=lambda lay: lay.name)
def test_fields_match_the_payload_layouts(layout: MessageLayout) -> None:
    if not layout.fields and layout.tail is None:
        return  # empty payloads have no table
    documented = field_rows(layout.name)
    expected = expected_rows(layout)
    assert len(documented) == len(expected), documented
    for (doc_off, doc_size, doc_name), (off, size, name) in zip(documented, expected, strict=True):
        assert doc_off == off, (doc_name, name)
        if size:  # the tail's size is a letter (n, m, d)
            assert doc_size == size, (doc_name, name)
        # fw_version is an array: the document names its parts fw_major, fw_minor, fw_patch
        assert doc_name == name or (name == "fw_version" and doc_name.startswith("fw_"))


def test_plain_constants_for_other_codecs() -> None:
    assert (layouts.BLIT_HEADER_LEN, layouts.COPY_PAYLOAD_LEN) == (9, 12)
    assert (layouts.HELLO_ACK_MIN_LEN, layouts.MAX_BOARD_ID_LEN) == (19, 32)
    assert layouts.ENTER_BOOTLOADER_MAGIC.to_bytes(4, "little") == b"SMP1"
    hello_ack = layouts.LAYOUTS_BY_CODE[MsgType.HELLO_ACK]
    assert hello_ack.struct_format == "<BBBHHBHBBBBI"
    assert [layouts.C_TYPES[f.fmt] for f in hello_ack.fields][:2] == ["uint8_t", "uint8_t"]


def test_a_malformed_table_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="fmt must be one of"):
        Field("x", "Q")
    assert Tail("data", "bytes").max_len is None
