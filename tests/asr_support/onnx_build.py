"""What the tiny model builders share: a small graph helper, int8 quantisation as the real
exports do it, and damaged copies for tests of broken folders."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx


class GraphBuilder:
    """Nodes and initializers for ``onnx.helper.make_graph``, with fresh names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, dtype: Any = np.float32, name: str | None = None) -> str:
        from onnx import numpy_helper

        name = name or self.fresh("const")
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, *values: int) -> str:
        return self.const(list(values), np.int64)

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        name = out or self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], **attrs))
        return name

    def slice(self, x: str, axis: int, start: int, end: int, out: str | None = None) -> str:
        return self.op("Slice", x, self.ints(start), self.ints(end), self.ints(axis), out=out)


def quantize_int8(
    model: onnx.ModelProto,
    path: Path,
    *,
    op_types: Sequence[str] = ("MatMul",),
    unsigned: bool = False,
    extra_options: dict[str, Any] | None = None,
) -> None:
    """``onnxruntime.quantization.quantize_dynamic`` as the export scripts call it (weights to
    QInt8, or QUInt8 when ``unsigned``), keeping the metadata whatever the quantiser does."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        onnx.save(model, str(fp32))
        quantize_dynamic(
            fp32,
            path,
            op_types_to_quantize=list(op_types),
            weight_type=QuantType.QUInt8 if unsigned else QuantType.QInt8,
            extra_options=extra_options or {},
        )
    quantized = onnx.load(str(path))
    if {p.key: p.value for p in quantized.metadata_props} != {
        p.key: p.value for p in model.metadata_props
    }:
        del quantized.metadata_props[:]
        quantized.metadata_props.extend(model.metadata_props)
        onnx.save(quantized, str(path))


def with_metadata(src: Path, dst: Path, **changes: str | None) -> Path:
    """A copy of the model at ``src`` with metadata keys set, or removed where ``None``."""
    import onnx

    model = onnx.load(str(src))
    meta = {p.key: p.value for p in model.metadata_props}
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(dst))
    return dst
