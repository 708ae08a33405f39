"""Read an ONNX file's ``metadata_props`` and graph input/output names without its weights.

sherpa-onnx ends the whole process (C ``_Exit``, no exception) when a metadata key it needs is
missing, and answers a graph with the wrong inputs by logging and returning empty text; so
every model folder is checked with this before sherpa sees it.  Reading the protobuf fields
directly skips the weights, which for a speech model are hundreds of MB.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

# Field numbers in onnx.proto
MODEL_GRAPH: Final = 7
MODEL_METADATA_PROPS: Final = 14
GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_INITIALIZER = 11, 12, 5
ENTRY_KEY, ENTRY_VALUE = 1, 2  # StringStringEntryProto
VALUE_INFO_NAME: Final = 1
TENSOR_NAME: Final = 8


def _varint(f: BinaryIO) -> int:
    value = shift = 0
    while shift < 64:
        byte = f.read(1)
        if not byte:
            raise ValueError("ends in the middle of a field (truncated?)")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
    raise ValueError("malformed varint")


def _spans(f: BinaryIO, end: int, keep: tuple[int, ...]) -> Iterator[tuple[int, int, int]]:
    """``(field, offset, length)`` of the length-delimited fields numbered ``keep`` between
    the file position and ``end``; everything else is checked for shape and skipped unread.
    The caller may read a span; the next one is found from the span's end either way."""
    while f.tell() < end:
        key = _varint(f)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ValueError("not a protobuf message")
        if wire == 0:
            _varint(f)
            continue
        length = {1: 8, 5: 4}.get(wire)
        if length is None:
            if wire != 2:
                raise ValueError(f"unexpected wire type {wire}")
            length = _varint(f)
        start = f.tell()
        if start + length > end:
            raise ValueError("ends in the middle of a field (truncated?)")
        if wire == 2 and field in keep:
            yield field, start, length
        f.seek(start + length, os.SEEK_SET)


def _strings(f: BinaryIO, start: int, length: int, keep: tuple[int, ...]) -> dict[int, str]:
    f.seek(start)
    out: dict[int, str] = {}
    for field, offset, size in list(_spans(f, start + length, keep)):
        f.seek(offset)
        out[field] = f.read(size).decode()
    return out


def onnx_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file (raises OSError, ValueError, UnicodeDecodeError)."""
    meta: dict[str, str] = {}
    with path.open("rb") as f:
        for _, start, length in list(_spans(f, path.stat().st_size, (MODEL_METADATA_PROPS,))):
            entry = _strings(f, start, length, (ENTRY_KEY, ENTRY_VALUE))
            meta[entry.get(ENTRY_KEY, "")] = entry.get(ENTRY_VALUE, "")
    return meta


def graph_io(path: Path) -> tuple[list[str], list[str]]:
    """The names of the graph's inputs (weights excluded) and outputs, in order."""
    inputs: list[str] = []
    outputs: list[str] = []
    weights: set[str] = set()
    with path.open("rb") as f:
        graphs = list(_spans(f, path.stat().st_size, (MODEL_GRAPH,)))
        if not graphs:
            raise ValueError("no graph")
        _, start, length = graphs[-1]
        f.seek(start)
        keep = (GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_INITIALIZER)
        for field, offset, size in list(_spans(f, start + length, keep)):
            if field == GRAPH_INITIALIZER:
                # Old exports list weights among the inputs too; the name is a small field.
                weights.add(_strings(f, offset, size, (TENSOR_NAME,)).get(TENSOR_NAME, ""))
                continue
            name = _strings(f, offset, size, (VALUE_INFO_NAME,)).get(VALUE_INFO_NAME, "")
            (inputs if field == GRAPH_INPUT else outputs).append(name)
    return [n for n in inputs if n not in weights], outputs
