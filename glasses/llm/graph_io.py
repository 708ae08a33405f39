"""The decoder's I/O contract, read from the session's inputs and outputs.

The same names serve both layouts (``input_ids``, ``attention_mask``, optional
``position_ids``, ``past_key_values.N.key/value`` -> ``logits``, ``present.N.key/value``); what
differs is whether ``position_ids`` exists and whether past and present share one buffer:
``genai_config.json`` asks for that, and the graph must have an attention op that can do it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from glasses.llm.errors import UnsupportedModelError
from glasses.models.llm_folder import ModelFolder

_PAST = re.compile(r"past_key_values\.(\d+)\.(key|value)")
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


@dataclass(frozen=True)
class GraphIO:
    num_layers: int
    num_kv_heads: int
    head_dim: int
    kv_dtype: type[np.generic]
    has_position_ids: bool
    logits_size: int  # vocabulary size of the logits output
    logits_dtype: type[np.generic]
    share_buffer: bool
    # ``logits`` is [batch, 1, vocab] whatever the input length (pruned LM head, see
    # :mod:`glasses.llm.graph_rewrite`) rather than one row per input position.
    last_position_logits: bool = False

    @staticmethod
    def past_names(layer: int) -> tuple[str, str]:
        return f"past_key_values.{layer}.key", f"past_key_values.{layer}.value"

    @staticmethod
    def present_names(layer: int) -> tuple[str, str]:
        return f"present.{layer}.key", f"present.{layer}.value"


def _dim(graph_dim: Any, config_value: int, what: str, folder: ModelFolder) -> int:
    """The graph's static dimension when it has one (it must agree with the config), else the
    config's: recent genai builds leave the head size symbolic ("kv_cache_dim")."""
    if isinstance(graph_dim, int) and graph_dim != config_value:
        raise UnsupportedModelError(
            f"{folder.onnx_path.name} has {what} {graph_dim} but its config says {config_value}"
        )
    return config_value


# Attention ops that write the new KV into the past buffer in place; a graph that concatenates
# past and present (standard ops) would need a bigger present than the buffer it got.
_IN_PLACE_ATTENTION = frozenset({"GroupQueryAttention", "PagedAttention"})


def read_graph_io(session: Any, folder: ModelFolder, op_types: frozenset[str]) -> GraphIO:
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    name = folder.onnx_path.name
    for required in ("input_ids", "attention_mask"):
        if required not in inputs:
            raise UnsupportedModelError(
                f"{name} has no {required!r} input; inputs: {sorted(inputs)}"
            )
    if "logits" not in outputs:
        raise UnsupportedModelError(f"{name} has no 'logits' output; outputs: {sorted(outputs)}")
    pasts = [m for m in (_PAST.fullmatch(n) for n in inputs) if m]
    layers = sorted({int(m.group(1)) for m in pasts})
    if not layers or layers != list(range(len(layers))):
        raise UnsupportedModelError(f"{name} has no usable past_key_values.N.key/value inputs")
    known = {"input_ids", "attention_mask", "position_ids"} | {m.group(0) for m in pasts}
    unknown = sorted(set(inputs) - known)
    if unknown:
        raise UnsupportedModelError(f"{name} needs inputs this engine does not feed: {unknown}")
    for layer in range(len(layers)):
        for past, present in zip(
            GraphIO.past_names(layer), GraphIO.present_names(layer), strict=True
        ):
            if past not in inputs or present not in outputs:
                raise UnsupportedModelError(f"{name} lacks {past!r} or {present!r}")
    first = inputs["past_key_values.0.key"]
    for value in (first, outputs["logits"]):
        if value.type not in _DTYPES:
            raise UnsupportedModelError(
                f"{name}: {value.name} of type {value.type} is not supported"
            )
    logits_dims = outputs["logits"].shape
    logits_size = logits_dims[-1] if isinstance(logits_dims[-1], int) else folder.vocab_size
    last_only = len(logits_dims) == 3 and logits_dims[1] == 1
    _dim(len(layers), folder.num_layers, "layer count", folder)
    return GraphIO(
        num_layers=len(layers),
        num_kv_heads=_dim(first.shape[1], folder.num_kv_heads, "KV head count", folder),
        head_dim=_dim(first.shape[3], folder.head_dim, "head size", folder),
        kv_dtype=_DTYPES[first.type],
        has_position_ids="position_ids" in inputs,
        logits_size=int(logits_size),
        logits_dtype=_DTYPES[outputs["logits"].type],
        share_buffer=folder.past_present_share_buffer and bool(op_types & _IN_PLACE_ATTENTION),
        last_position_logits=last_only,
    )
