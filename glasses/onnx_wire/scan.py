"""Check an ONNX file before ONNX Runtime sees it, without the ``onnx`` package.

ONNX Runtime's messages for a truncated file, a missing ``.onnx_data`` file or a custom-op
domain are cryptic, and some of these it only finds after allocating the weights.  Walking the
protobuf wire format is cheap: initializer payloads are skipped by length, so even a file with
embedded weights is scanned through a memory map without touching them.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from glasses.model_errors import CorruptModelError, ModelFileError, UnsupportedModelError
from glasses.onnx_wire import fields as proto
from glasses.onnx_wire.protobuf import WIRE_BYTES, MalformedWire, fields

# Operator domains ONNX Runtime's default build implements.
KNOWN_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "com.microsoft.nchwc"})


@dataclass(frozen=True)
class OnnxSummary:
    ops: frozenset[tuple[str, str]]  # (domain, op_type)
    opset_domains: frozenset[str]
    external_files: dict[str, int] = field(default_factory=dict)  # location -> bytes needed


def _fields(buf: memoryview) -> Iterator[tuple[int, int, memoryview | int]]:
    """Yield ``(field_number, wire_type, payload)``; length-delimited payloads are views."""
    for f in fields(buf):
        yield f.number, f.wire, f.payload(buf) if f.wire == WIRE_BYTES else f.value


def _text(payload: memoryview | int) -> str:
    return bytes(payload).decode("utf-8", "replace") if isinstance(payload, memoryview) else ""


def _external_need(tensor: memoryview) -> tuple[str, int] | None:
    external = False
    info: dict[str, str] = {}
    for number, _, payload in _fields(tensor):
        if number == proto.TENSOR_DATA_LOCATION and payload == proto.DATA_LOCATION_EXTERNAL:
            external = True
        elif number == proto.TENSOR_EXTERNAL_DATA and isinstance(payload, memoryview):
            entry = {n: _text(p) for n, _, p in _fields(payload)}
            info[entry.get(proto.ENTRY_KEY, "")] = entry.get(proto.ENTRY_VALUE, "")
    if not external or "location" not in info:
        return None
    end = int(info.get("offset", "0") or 0) + int(info.get("length", "0") or 0)
    return info["location"], end


def _summarize(buf: memoryview) -> OnnxSummary:
    ops: set[tuple[str, str]] = set()
    domains: set[str] = set()
    external: dict[str, int] = {}
    has_graph = False
    for number, _, payload in _fields(buf):
        if not isinstance(payload, memoryview):
            continue
        if number == proto.MODEL_OPSET_IMPORT:
            domains.update(_text(p) for n, _, p in _fields(payload) if n == proto.OPSET_DOMAIN)
        elif number == proto.MODEL_GRAPH:
            has_graph = True
            for g_number, _, g_payload in _fields(payload):
                if g_number == proto.GRAPH_NODE and isinstance(g_payload, memoryview):
                    node = {
                        n: _text(p)
                        for n, _, p in _fields(g_payload)
                        if n in (proto.NODE_OP_TYPE, proto.NODE_DOMAIN)
                    }
                    ops.add((node.get(proto.NODE_DOMAIN, ""), node.get(proto.NODE_OP_TYPE, "")))
                elif g_number == proto.GRAPH_INITIALIZER and isinstance(g_payload, memoryview):
                    need = _external_need(g_payload)
                    if need:
                        external[need[0]] = max(external.get(need[0], 0), need[1])
    if not has_graph or not ops:
        raise MalformedWire
    return OnnxSummary(frozenset(ops), frozenset(domains), external)


def scan_onnx(path: Path) -> OnnxSummary:
    """Summarise ``path`` and check its external data files; raises a clear error otherwise."""
    summary: OnnxSummary | None = None
    try:
        # MalformedWire is suppressed before the map closes (its traceback holds views into the
        # map, which could not close under them) and reported below as summary None.
        with (
            path.open("rb") as fh,
            mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm,
            contextlib.suppress(MalformedWire),
        ):
            summary = _summarize(memoryview(mm))
    except FileNotFoundError as exc:
        raise ModelFileError(f"model file {path} does not exist") from exc
    except ValueError:  # mmap refuses empty files
        summary = None
    if summary is None:
        raise CorruptModelError(
            f"{path} is not a complete ONNX model (truncated download or wrong file?)"
        )
    for location, needed in summary.external_files.items():
        data = path.parent / location
        if not data.is_file():
            raise ModelFileError(f"{path.name} keeps its weights in {data}, which is missing")
        size = data.stat().st_size
        if size < needed:
            raise ModelFileError(
                f"external weights file {data} is truncated ({size} bytes, needs {needed})"
            )
    custom = sorted({d for d, _ in summary.ops} - KNOWN_DOMAINS)
    if custom:
        raise UnsupportedModelError(
            f"{path.name} uses operators from custom domain(s) {', '.join(custom)}, "
            "which ONNX Runtime cannot run without extra libraries"
        )
    return summary
