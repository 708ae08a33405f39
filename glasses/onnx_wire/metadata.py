"""Read an ONNX file's ``metadata_props`` and graph input/output names without its weights.

sherpa-onnx ends the whole process (C ``_Exit``, no exception) when a metadata key it needs is
missing, and answers a graph with the wrong inputs by logging and returning empty text; so
every speech model folder is checked with this before sherpa sees it.  The file is walked
through a memory map (:mod:`.protobuf`): the weights, hundreds of MB for a speech model, are
skipped by length and never read.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from glasses.onnx_wire import fields as proto
from glasses.onnx_wire.protobuf import WIRE_BYTES, Field, MalformedWire, fields

T = TypeVar("T")


def _walk(buf: memoryview, start: int = 0, end: int | None = None) -> Iterator[Field]:
    for f in fields(buf, start, end):
        if f.number == 0:  # field 0 does not exist: this is not a protobuf message
            raise MalformedWire
        yield f


def _strings(buf: memoryview, outer: Field, keep: tuple[int, ...]) -> dict[int, str]:
    """The string fields numbered ``keep`` of the message in ``outer``'s payload."""
    return {
        f.number: bytes(f.payload(buf)).decode()
        for f in _walk(buf, outer.value_start, outer.end)
        if f.wire == WIRE_BYTES and f.number in keep
    }


def _read(path: Path, walk: Callable[[memoryview], T]) -> T:
    """``walk`` over the file's bytes; OSError, or ValueError for a file that is not ONNX."""
    problem = ""
    with path.open("rb") as fh:
        if path.stat().st_size == 0:
            return walk(memoryview(b""))
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            # The errors are turned into messages here: their tracebacks hold views into the
            # map, which could not close under them.
            try:
                return walk(memoryview(mm))
            except MalformedWire:
                problem = "ends in the middle of a field (truncated?) or is not protobuf"
            except UnicodeDecodeError as exc:
                problem = f"a name is not UTF-8 ({exc.reason})"
    raise ValueError(problem)


def _metadata(buf: memoryview) -> dict[str, str]:
    meta: dict[str, str] = {}
    for f in _walk(buf):
        if f.number == proto.MODEL_METADATA_PROPS and f.wire == WIRE_BYTES:
            entry = _strings(buf, f, (proto.ENTRY_KEY, proto.ENTRY_VALUE))
            meta[entry.get(proto.ENTRY_KEY, "")] = entry.get(proto.ENTRY_VALUE, "")
    return meta


def _graph_io(buf: memoryview) -> tuple[list[str], list[str]] | None:
    graphs = [f for f in _walk(buf) if f.number == proto.MODEL_GRAPH and f.wire == WIRE_BYTES]
    if not graphs:
        return None
    inputs: list[str] = []
    outputs: list[str] = []
    weights: set[str] = set()
    graph = graphs[-1]
    for f in _walk(buf, graph.value_start, graph.end):
        if f.wire != WIRE_BYTES:
            continue
        if f.number == proto.GRAPH_INITIALIZER:
            # Old exports list weights among the inputs too; the name is a small field.
            name = _strings(buf, f, (proto.TENSOR_NAME,)).get(proto.TENSOR_NAME, "")
            weights.add(name)
        elif f.number in (proto.GRAPH_INPUT, proto.GRAPH_OUTPUT):
            name = _strings(buf, f, (proto.VALUE_INFO_NAME,)).get(proto.VALUE_INFO_NAME, "")
            (inputs if f.number == proto.GRAPH_INPUT else outputs).append(name)
    return [n for n in inputs if n not in weights], outputs


def onnx_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file (raises OSError or ValueError)."""
    return _read(path, _metadata)


def graph_io(path: Path) -> tuple[list[str], list[str]]:
    """The names of the graph's inputs (weights excluded) and outputs, in order."""
    found = _read(path, _graph_io)
    if found is None:
        raise ValueError("no graph")
    return found
