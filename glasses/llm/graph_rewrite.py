"""Load-time rewrite of a decoder graph so it scores the last position only.

Exported decoders compute ``logits`` for every input position: ``[batch, seq, vocab]``.  The
engine only ever samples from the last one, so during prefill the LM head (for Qwen2.5-0.5B,
136 M of its 494 M weights) and the ``seq x 151,936`` logits tensor are wasted work and memory.
:func:`prune_lm_head` inserts ``Gather(hidden, [-1], axis=1)`` in front of the LM head MatMul,
as onnxruntime-genai's builder does with its ``prune_lm_head`` option, and declares ``logits``
as ``[batch, 1, vocab]``.  Decode steps (one position) compute exactly what they did before.

The rewrite edits the protobuf wire format directly (no ``onnx`` package at run time) and stays
small in memory: weights kept in external files stay there, and weights embedded in the
``.onnx`` file become external references to their own bytes in that file, so nothing is copied.
The caller hands the returned bytes to ONNX Runtime with the model's folder as the place to
find external data.  Any graph that does not have the expected shape is left alone (``None``).

Why at every load rather than once at pull time: the rewrite takes about 2 ms
(docs/benchmarks.md, "Engine changes behind these numbers"), so a cached copy would save
nothing a wearer notices, and a derived file in the model folder would be one more thing to
invalidate when the graph changes and a file that ``glasses models verify`` does not know.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from glasses.onnx_wire import fields as proto
from glasses.onnx_wire.protobuf import (
    WIRE_BYTES,
    WIRE_VARINT,
    Field,
    MalformedWire,
    bytes_field,
    fields,
    int_field,
)

# Ops that may sit between the LM head MatMul and ``logits`` (bias, scale, softcap, cast):
# each keeps the position axis, so they work unchanged on one position.
_ELEMENTWISE = frozenset({"Add", "Mul", "Div", "Tanh", "Cast", "Where"})
_LM_HEAD_OPS = frozenset({"MatMul", "MatMulNBits"})
# Embedded tensors at least this large become references into the .onnx file.
_EXTERNALIZE_BYTES = 1024

LAST_INDEX = "glasses/last_position/index"
LAST_HIDDEN = "glasses/last_position/hidden"


def _text(buf: memoryview, f: Field) -> str:
    return bytes(buf[f.value_start : f.end]).decode("utf-8", "replace")


@dataclass
class _Node:
    field: Field
    op_type: str
    inputs: list[str]
    outputs: list[str]


def _node(buf: memoryview, f: Field) -> _Node:
    node = _Node(f, "", [], [])
    for sub in fields(buf, f.value_start, f.end):
        if sub.number == proto.NODE_INPUT:
            node.inputs.append(_text(buf, sub))
        elif sub.number == proto.NODE_OUTPUT:
            node.outputs.append(_text(buf, sub))
        elif sub.number == proto.NODE_OP_TYPE:
            node.op_type = _text(buf, sub)
    return node


def _value_name(buf: memoryview, f: Field) -> str:
    for sub in fields(buf, f.value_start, f.end):
        if sub.number == proto.VALUE_INFO_NAME:
            return _text(buf, sub)
    return ""


def _replace_first_input(buf: memoryview, f: Field, name: str) -> bytes:
    out, done = bytearray(), False
    for sub in fields(buf, f.value_start, f.end):
        if sub.number == proto.NODE_INPUT and not done:
            out += bytes_field(proto.NODE_INPUT, name.encode())
            done = True
        else:
            out += buf[sub.start : sub.end]
    return bytes_field(proto.GRAPH_NODE, bytes(out))


def _dims(buf: memoryview, f: Field) -> list[Field]:
    """The ``Dimension`` fields of a ValueInfoProto's tensor shape."""
    for t in fields(buf, f.value_start, f.end):
        if t.number == proto.VALUE_INFO_TYPE:
            for tensor in fields(buf, t.value_start, t.end):
                if tensor.number == proto.TYPE_TENSOR:
                    for shape in fields(buf, tensor.value_start, tensor.end):
                        if shape.number == proto.TENSOR_TYPE_SHAPE:
                            return [
                                d
                                for d in fields(buf, shape.value_start, shape.end)
                                if d.number == proto.SHAPE_DIM
                            ]
    return []


def _static_dim(buf: memoryview, dim: Field) -> int | None:
    for sub in fields(buf, dim.value_start, dim.end):
        if sub.number == proto.DIM_VALUE and sub.wire == WIRE_VARINT:
            return sub.value
    return None


def _replace_inside(buf: memoryview, f: Field, target: Field, new: bytes) -> bytes:
    """Re-encode the message field ``f`` with its descendant field ``target`` swapped for the
    encoded field ``new`` (the messages on the way down are re-encoded, all else is copied)."""
    out = bytearray()
    for sub in fields(buf, f.value_start, f.end):
        if (sub.start, sub.end) == (target.start, target.end):
            out += new
        elif sub.wire == WIRE_BYTES and sub.start <= target.start and target.end <= sub.end:
            out += _replace_inside(buf, sub, target, new)
        else:
            out += buf[sub.start : sub.end]
    return bytes_field(f.number, bytes(out))


def _one_position_output(buf: memoryview, f: Field) -> bytes | None:
    """``logits`` ValueInfoProto with its position axis declared as 1."""
    dims = _dims(buf, f)
    if len(dims) != 3:
        return None
    return _replace_inside(
        buf, f, dims[1], bytes_field(proto.SHAPE_DIM, int_field(proto.DIM_VALUE, 1))
    )


def _externalized(buf: memoryview, f: Field, file_name: str) -> bytes | None:
    """An embedded initializer as a reference to its raw bytes in the model file itself."""
    raw = next(
        (s for s in fields(buf, f.value_start, f.end) if s.number == proto.TENSOR_RAW_DATA), None
    )
    if raw is None or raw.value < _EXTERNALIZE_BYTES:
        return None
    out = bytearray()
    for sub in fields(buf, f.value_start, f.end):
        if sub.number != proto.TENSOR_RAW_DATA:
            out += buf[sub.start : sub.end]
    for key, value in (
        ("location", file_name),
        ("offset", str(raw.value_start)),
        ("length", str(raw.value)),
    ):
        entry = bytes_field(1, key.encode()) + bytes_field(2, value.encode())
        out += bytes_field(proto.TENSOR_EXTERNAL_DATA, entry)
    out += int_field(proto.TENSOR_DATA_LOCATION, proto.DATA_LOCATION_EXTERNAL)
    return bytes_field(proto.GRAPH_INITIALIZER, bytes(out))


def _last_index_initializer() -> bytes:
    tensor = (
        int_field(proto.TENSOR_DIMS, 1)
        + int_field(proto.TENSOR_DATA_TYPE, proto.TENSOR_INT64)
        + bytes_field(proto.TENSOR_NAME, LAST_INDEX.encode())
        + bytes_field(proto.TENSOR_RAW_DATA, struct.pack("<q", -1))
    )
    return bytes_field(proto.GRAPH_INITIALIZER, tensor)


def _gather_node(hidden: str) -> bytes:
    axis = (
        bytes_field(proto.ATTR_NAME, b"axis")
        + int_field(proto.ATTR_I, 1)
        + int_field(proto.ATTR_TYPE, proto.ATTR_TYPE_INT)
    )
    node = (
        bytes_field(proto.NODE_INPUT, hidden.encode())
        + bytes_field(proto.NODE_INPUT, LAST_INDEX.encode())
        + bytes_field(proto.NODE_OUTPUT, LAST_HIDDEN.encode())
        + bytes_field(proto.NODE_NAME, b"/glasses/last_position/Gather")
        + bytes_field(proto.NODE_OP_TYPE, b"Gather")
        + bytes_field(proto.NODE_ATTRIBUTE, axis)
    )
    return bytes_field(proto.GRAPH_NODE, node)


def _lm_head_chain(nodes: list[_Node], produced: dict[str, _Node]) -> list[_Node] | None:
    """The nodes from the LM head MatMul to ``logits`` (MatMul first), or None."""
    node = produced.get("logits")
    chain: list[_Node] = []
    while node is not None and node.op_type in _ELEMENTWISE:
        chain.append(node)
        sources = [
            produced[i] for i in node.inputs if i in produced and produced[i].op_type != "Constant"
        ]
        if len(sources) != 1:
            return None
        node = sources[0]
    if node is None or node.op_type not in _LM_HEAD_OPS or not node.inputs:
        return None
    chain.append(node)
    # Every intermediate value must feed only the chain (nothing else sees fewer positions).
    chain_outputs = {o for n in chain[1:] for o in n.outputs}
    for other in nodes:
        if other not in chain and chain_outputs & set(other.inputs):
            return None
    return chain[::-1]


def _rewrite_graph(buf: memoryview, graph: Field, file_name: str) -> bytes | None:
    nodes: list[_Node] = []
    logits_output: Field | None = None
    for f in fields(buf, graph.value_start, graph.end):
        if f.number == proto.GRAPH_NODE:
            nodes.append(_node(buf, f))
        elif f.number == proto.GRAPH_OUTPUT and _value_name(buf, f) == "logits":
            logits_output = f
    if logits_output is None:
        return None
    dims = _dims(buf, logits_output)
    if len(dims) != 3 or _static_dim(buf, dims[1]) == 1:
        return None  # unknown rank, or already one position (genai's prune_lm_head)
    produced = {o: n for n in nodes for o in n.outputs if o}
    chain = _lm_head_chain(nodes, produced)
    if chain is None:
        return None
    head = chain[0]
    chain_values = {o for n in chain for o in n.outputs} - {"logits"}
    out = bytearray()
    for f in fields(buf, graph.value_start, graph.end):
        if f.number == proto.GRAPH_NODE and f.start == head.field.start:
            out += _gather_node(head.inputs[0])
            out += _replace_first_input(buf, f, LAST_HIDDEN)
        elif f.number == proto.GRAPH_OUTPUT and f.start == logits_output.start:
            new = _one_position_output(buf, f)
            if new is None:
                return None
            out += new
        elif f.number == proto.GRAPH_VALUE_INFO and _value_name(buf, f) in chain_values:
            continue  # shape hints with the old position axis
        elif f.number == proto.GRAPH_INITIALIZER:
            out += _externalized(buf, f, file_name) or buf[f.start : f.end]
        else:
            out += buf[f.start : f.end]
    out += _last_index_initializer()
    return bytes_field(proto.MODEL_GRAPH, bytes(out))


def prune_lm_head(path: Path) -> bytes | None:
    """The model at ``path`` rewritten to compute ``logits`` for the last position only, as
    serialized ModelProto bytes whose external data lives in ``path.parent``; None when the graph
    already does so or its LM head is not a recognisable MatMul feeding ``logits``."""
    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _rewrite_mapped(mm, path.name)
    except (OSError, ValueError):  # unreadable, or empty (mmap refuses those)
        return None


def _rewrite_mapped(mm: mmap.mmap, file_name: str) -> bytes | None:
    # Malformed input is handled here, so no traceback holding views into the map outlives it.
    try:
        return _rewrite_model(memoryview(mm), file_name)
    except MalformedWire:
        return None


def _rewrite_model(buf: memoryview, file_name: str) -> bytes | None:
    out = bytearray()
    rewritten = False
    for f in fields(buf):
        if f.number == proto.MODEL_GRAPH and f.wire == WIRE_BYTES and not rewritten:
            graph = _rewrite_graph(buf, f, file_name)
            if graph is None:
                return None
            out += graph
            rewritten = True
        else:
            out += buf[f.start : f.end]
    return bytes(out) if rewritten else None
