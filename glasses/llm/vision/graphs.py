"""The three graphs' I/O contracts (onnx-community / transformers.js Qwen2-VL layout), read
from their sessions; a graph that does not follow it is refused with what it has instead."""

from __future__ import annotations

import re
from typing import Any

from glasses.llm.errors import UnsupportedModelError
from glasses.llm.graph_io import GraphIO
from glasses.models.vlm_folder import VisionModelFolder

_PAST = re.compile(r"past_key_values\.(\d+)\.(key|value)")
_FLOATS = {"tensor(float)", "tensor(float16)"}


def _require(session: Any, name: str, inputs: set[str], outputs: set[str]) -> None:
    have_in = {i.name for i in session.get_inputs()}
    have_out = {o.name for o in session.get_outputs()}
    if not inputs <= have_in or not outputs <= have_out:
        raise UnsupportedModelError(
            f"{name} is not a Qwen2-VL {name.split('_q')[0]} graph: it needs inputs "
            f"{sorted(inputs)} and outputs {sorted(outputs)}, and has {sorted(have_in)} -> "
            f"{sorted(have_out)}"
        )


def check_vision_encoder(session: Any, name: str) -> None:
    _require(session, name, {"pixel_values", "grid_thw"}, {"image_features"})


def check_embed_tokens(session: Any, name: str) -> None:
    _require(session, name, {"input_ids"}, {"inputs_embeds"})


def read_decoder_io(session: Any, folder: VisionModelFolder) -> GraphIO:
    """The decoder's contract as the text engine's :class:`GraphIO` (KV names and shapes are
    the same; ``input_ids`` is replaced by ``inputs_embeds``, positions are [3, batch, seq])."""
    name = folder.decoder_path.name
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    _require(session, name, {"inputs_embeds", "attention_mask", "position_ids"}, {"logits"})
    layers = sorted({int(m.group(1)) for m in map(_PAST.fullmatch, inputs) if m})
    if not layers or layers != list(range(len(layers))) or len(layers) != folder.text.num_layers:
        raise UnsupportedModelError(
            f"{name} has past_key_values for layers {layers}; its config says "
            f"{folder.text.num_layers} layers"
        )
    known = {"inputs_embeds", "attention_mask", "position_ids"}
    unknown = sorted(set(inputs) - known - {n for n in inputs if _PAST.fullmatch(n)})
    if unknown:
        raise UnsupportedModelError(f"{name} needs inputs this engine does not feed: {unknown}")
    for layer in layers:
        for past, present in zip(
            GraphIO.past_names(layer), GraphIO.present_names(layer), strict=True
        ):
            if past not in inputs or present not in outputs:
                raise UnsupportedModelError(f"{name} lacks {past!r} or {present!r}")
    first, logits = inputs["past_key_values.0.key"], outputs["logits"]
    for value in (first, logits, inputs["inputs_embeds"]):
        if value.type not in _FLOATS:
            raise UnsupportedModelError(
                f"{name}: {value.name} of type {value.type} is not supported"
            )
    if inputs["inputs_embeds"].type != "tensor(float)":
        raise UnsupportedModelError(f"{name} takes float16 embeddings; use a float32 (q4) export")
    dims = logits.shape
    import numpy as np

    dtypes = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
    return GraphIO(
        num_layers=len(layers),
        num_kv_heads=folder.text.num_kv_heads,
        head_dim=folder.text.head_dim,
        kv_dtype=dtypes[first.type],
        has_position_ids=True,
        logits_size=int(dims[-1]) if isinstance(dims[-1], int) else folder.text.vocab_size,
        logits_dtype=dtypes[logits.type],
        share_buffer=False,  # transformers.js exports concatenate past and present
        last_position_logits=len(dims) == 3 and dims[1] == 1,
    )
