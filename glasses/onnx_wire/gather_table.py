"""Where a lookup-table graph keeps its table, read without loading it.

A token-embedding graph (onnx-community's ``embed_tokens``) is one ``Gather`` over a
``[vocab, hidden]`` initializer: 0.9 GB of float32 for Qwen2-VL-2B, of which a prompt reads a
few rows.  :func:`plain_gather_table` says where the table's bytes are (an offset in the
``.onnx`` file for ``raw_data``, or in its external data file) when the graph is exactly that,
so a caller can serve rows from a read-only memory map instead of a session holding the whole
table; any other graph (more nodes, another axis, quantised or non-raw weights) gives ``None``.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path

from glasses.onnx_wire import fields as proto
from glasses.onnx_wire.protobuf import WIRE_BYTES, WIRE_VARINT, Field, MalformedWire, fields

# ONNX TensorProto.DataType -> numpy little-endian dtype name, the plain float tables served.
TABLE_DTYPES = {proto.TENSOR_FLOAT: "<f4", proto.TENSOR_FLOAT16: "<f2"}


@dataclass(frozen=True)
class GatherTable:
    """A ``[rows, cols]`` table stored uncompressed at ``offset`` of ``path``."""

    path: Path
    offset: int
    rows: int
    cols: int
    dtype: str  # numpy dtype name, little-endian (ONNX raw data always is)


@dataclass
class _Tensor:
    dims: list[int]
    data_type: int = 0
    raw: Field | None = None
    external: bool = False
    info: dict[str, str] | None = None


def _text(buf: memoryview, f: Field) -> str:
    return bytes(f.payload(buf)).decode("utf-8", "replace")


def _tensor(buf: memoryview, f: Field) -> tuple[str, _Tensor]:
    name, tensor = "", _Tensor([])
    for sub in fields(buf, f.value_start, f.end):
        if sub.number == proto.TENSOR_NAME and sub.wire == WIRE_BYTES:
            name = _text(buf, sub)
        elif sub.number == proto.TENSOR_DIMS and sub.wire == WIRE_VARINT:
            tensor.dims.append(sub.value)
        elif sub.number == proto.TENSOR_DATA_TYPE and sub.wire == WIRE_VARINT:
            tensor.data_type = sub.value
        elif sub.number == proto.TENSOR_RAW_DATA and sub.wire == WIRE_BYTES:
            tensor.raw = sub
        elif sub.number == proto.TENSOR_DATA_LOCATION and sub.wire == WIRE_VARINT:
            tensor.external = sub.value == proto.DATA_LOCATION_EXTERNAL
        elif sub.number == proto.TENSOR_EXTERNAL_DATA and sub.wire == WIRE_BYTES:
            entry = {e.number: _text(buf, e) for e in fields(buf, sub.value_start, sub.end)}
            tensor.info = tensor.info or {}
            tensor.info[entry.get(proto.ENTRY_KEY, "")] = entry.get(proto.ENTRY_VALUE, "")
        elif sub.number == proto.TENSOR_DIMS:  # packed dims: not how ONNX writes them, refuse
            raise MalformedWire
    return name, tensor


def _gather_axis(buf: memoryview, f: Field) -> int:
    """The ``axis`` attribute of a node (0 when absent, as ONNX's Gather defaults)."""
    for sub in fields(buf, f.value_start, f.end):
        if sub.number != proto.NODE_ATTRIBUTE or sub.wire != WIRE_BYTES:
            continue
        attr = {a.number: a for a in fields(buf, sub.value_start, sub.end)}
        name = attr.get(proto.ATTR_NAME)
        if name is not None and _text(buf, name) == "axis":
            value = attr.get(proto.ATTR_I)
            return value.value if value is not None else 0
    return 0


def _find(buf: memoryview, path: Path, index_input: str, output: str) -> GatherTable | None:
    graph = [f for f in fields(buf) if f.number == proto.MODEL_GRAPH and f.wire == WIRE_BYTES]
    if len(graph) != 1:
        return None
    nodes: list[Field] = []
    tensors: dict[str, _Tensor] = {}
    for f in fields(buf, graph[0].value_start, graph[0].end):
        if f.number == proto.GRAPH_NODE and f.wire == WIRE_BYTES:
            nodes.append(f)
        elif f.number == proto.GRAPH_INITIALIZER and f.wire == WIRE_BYTES:
            name, tensor = _tensor(buf, f)
            tensors[name] = tensor
    if len(nodes) != 1:
        return None  # a scale, a cast or a dequantisation after the lookup: the graph's job
    op, domain = "", ""
    ins: list[str] = []
    outs: list[str] = []
    for sub in fields(buf, nodes[0].value_start, nodes[0].end):
        if sub.wire != WIRE_BYTES:
            continue
        if sub.number == proto.NODE_OP_TYPE:
            op = _text(buf, sub)
        elif sub.number == proto.NODE_DOMAIN:
            domain = _text(buf, sub)
        elif sub.number == proto.NODE_INPUT:
            ins.append(_text(buf, sub))
        elif sub.number == proto.NODE_OUTPUT:
            outs.append(_text(buf, sub))
    if op != "Gather" or domain not in ("", "ai.onnx"):
        return None
    if len(ins) != 2 or ins[1] != index_input or outs != [output]:
        return None
    table = tensors.get(ins[0])
    if table is None or len(table.dims) != 2 or table.data_type not in TABLE_DTYPES:
        return None
    if _gather_axis(buf, nodes[0]) != 0:
        return None
    rows, cols = table.dims
    size = rows * cols * (4 if table.data_type == proto.TENSOR_FLOAT else 2)
    if table.external:
        info = table.info or {}
        if "location" not in info or int(info.get("length", size) or size) != size:
            return None
        data = path.parent / info["location"]
        return GatherTable(data, int(info.get("offset", "0") or 0), rows, cols, _dtype(table))
    if table.raw is None or table.raw.value != size:
        return None  # float_data (not raw bytes) or a size that does not match the dims
    return GatherTable(path, table.raw.value_start, rows, cols, _dtype(table))


def _dtype(tensor: _Tensor) -> str:
    return TABLE_DTYPES[tensor.data_type]


def plain_gather_table(
    path: Path, index_input: str = "input_ids", output: str = "inputs_embeds"
) -> GatherTable | None:
    """The table of a graph that is one ``Gather(table, index_input) -> output`` on axis 0 over
    a 2-D float32 or float16 initializer with raw or external data; ``None`` for any other
    graph.  Raises ValueError for a file that is not ONNX, OSError when it cannot be read."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        found: GatherTable | None = None
        failed = False
        # MalformedWire is caught before the map closes (its traceback holds views into it).
        try:
            found = _find(memoryview(mm), path, index_input, output)
        except (MalformedWire, ValueError):
            failed = True
    if failed:
        raise ValueError(f"{path} is not a complete ONNX model (truncated or not protobuf)")
    return found
