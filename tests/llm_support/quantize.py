"""int4 weight-only quantisation with onnxruntime's own ``MatMulNBitsQuantizer``, and the exact
dequantised weights for the numpy reference."""

from __future__ import annotations

import re

import numpy as np
import onnx
from onnx import numpy_helper

from .tiny_qwen import Weights

BLOCK_SIZE = 32
# Level 4 = int8 activations x int4 weights, the fast CPU path (what genai's builder uses on CPU).
ACCURACY_LEVEL = 4


def quantize_int4(model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import (
            MatMulNBitsQuantizer as Quantizer,
        )
    except ModuleNotFoundError:  # onnxruntime < 1.22 (scripts/check_floors.sh): its older name
        from onnxruntime.quantization.matmul_4bits_quantizer import (
            MatMul4BitsQuantizer as Quantizer,
        )
    # 4 bits is the default (1.22 and 1.23 take no ``bits`` argument).
    quantizer = Quantizer(
        model, block_size=BLOCK_SIZE, is_symmetric=True, accuracy_level=ACCURACY_LEVEL
    )
    quantizer.process()
    out: onnx.ModelProto = quantizer.model.model
    return out


def _hf_weight_name(onnx_name: str) -> str:
    if onnx_name.startswith("onnx::MatMul_"):  # Optimum-style export
        return onnx_name.removeprefix("onnx::MatMul_") + ".weight"
    if onnx_name == "lm_head.MatMul.weight":
        return "lm_head.weight"
    match = re.fullmatch(r"model\.layers\.(\d+)\.(attn|mlp)\.(\w+)\.MatMul\.weight", onnx_name)
    if not match:
        raise ValueError(f"unexpected quantised weight {onnx_name}")
    layer, block, proj = match.groups()
    block = "self_attn" if block == "attn" else "mlp"
    return f"model.layers.{layer}.{block}.{proj}.weight"


def dequantized_weights(model: onnx.ModelProto, w: Weights) -> Weights:
    """A copy of ``w`` where every weight that became a MatMulNBits node holds its int4 value."""
    inits = {t.name: t for t in model.graph.initializer}
    out = dict(w)
    for node in model.graph.node:
        if node.op_type != "MatMulNBits":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        k, n, bs = int(attrs["K"]), int(attrs["N"]), int(attrs["block_size"])
        packed = numpy_helper.to_array(inits[node.input[1]])  # [N, blocks, bs/2] uint8
        scales = numpy_helper.to_array(inits[node.input[2]]).reshape(n, -1)
        nibbles = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(n, -1, bs)
        if len(node.input) > 3 and node.input[3]:
            raise ValueError("test models are quantised symmetrically")
        values = (nibbles.astype(np.float32) - 8.0) * scales[:, :, None]
        weight_kn = values.reshape(n, -1)[:, :k].T  # [K, N]: what MatMul multiplies by
        name = node.input[1].removesuffix("_Q4")
        out[_hf_weight_name(name)] = np.ascontiguousarray(weight_kn.T)  # HF layout [out, in]
    return out
