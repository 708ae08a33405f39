"""Field numbers from ``onnx.proto`` (onnx/onnx.proto3), the ones glasses reads or writes."""

from __future__ import annotations

from typing import Final

# ModelProto
MODEL_GRAPH: Final = 7
MODEL_OPSET_IMPORT: Final = 8
MODEL_METADATA_PROPS: Final = 14
# OperatorSetIdProto
OPSET_DOMAIN: Final = 1
# StringStringEntryProto (metadata_props, external_data)
ENTRY_KEY: Final = 1
ENTRY_VALUE: Final = 2
# GraphProto
GRAPH_NODE: Final = 1
GRAPH_INITIALIZER: Final = 5
GRAPH_INPUT: Final = 11
GRAPH_OUTPUT: Final = 12
GRAPH_VALUE_INFO: Final = 13
# NodeProto
NODE_INPUT: Final = 1
NODE_OUTPUT: Final = 2
NODE_NAME: Final = 3
NODE_OP_TYPE: Final = 4
NODE_ATTRIBUTE: Final = 5
NODE_DOMAIN: Final = 7
# AttributeProto, and its AttributeType INT
ATTR_NAME: Final = 1
ATTR_I: Final = 3
ATTR_TYPE: Final = 20
ATTR_TYPE_INT: Final = 2
# ValueInfoProto -> TypeProto -> TypeProto.Tensor -> TensorShapeProto -> Dimension
VALUE_INFO_NAME: Final = 1
VALUE_INFO_TYPE: Final = 2
TYPE_TENSOR: Final = 1
TENSOR_TYPE_SHAPE: Final = 2
SHAPE_DIM: Final = 1
DIM_VALUE: Final = 1
# TensorProto, its DataLocation EXTERNAL and its DataTypes INT64, FLOAT, FLOAT16
TENSOR_DIMS: Final = 1
TENSOR_DATA_TYPE: Final = 2
TENSOR_NAME: Final = 8
TENSOR_RAW_DATA: Final = 9
TENSOR_EXTERNAL_DATA: Final = 13
TENSOR_DATA_LOCATION: Final = 14
DATA_LOCATION_EXTERNAL: Final = 1
TENSOR_INT64: Final = 7
TENSOR_FLOAT: Final = 1
TENSOR_FLOAT16: Final = 10
