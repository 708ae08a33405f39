"""Token embeddings of a vision-language model: rows of the ``embed_tokens`` table.

The published q4 files keep the table in float32 (151,936 x 1536 for Qwen2-VL-2B: 0.87 GiB).
A session running the ``embed_tokens`` graph holds all of it in memory, while a prompt reads a
few hundred rows; so when the graph is one plain ``Gather`` (:func:`plain_gather_table`) the
rows are served from a read-only memory map of the file instead: only the pages of the rows
used are read in, and they are file-backed, so the system can drop them again under pressure.
A row gather copies bytes, so the embeddings are exactly what the graph gives (a float16
table's rows are cast to float32, as the engine casts the graph's output).  Any other graph
(a scale or dequantisation after the lookup, int4 tables) runs as a session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from glasses.llm.config import SessionConfig
from glasses.llm.errors import CorruptModelError, LlmError, UnsupportedModelError
from glasses.llm.session import create_session
from glasses.llm.vision.graphs import check_embed_tokens
from glasses.onnx_wire.gather_table import GatherTable, plain_gather_table
from glasses.onnx_wire.scan import scan_onnx


class TokenEmbedding(Protocol):
    def lookup(self, ids: npt.NDArray[np.int64], run_options: Any) -> npt.NDArray[np.float32]:
        """``[len(ids), hidden]`` float32 embeddings of token ids (all >= 0)."""


class MappedEmbedding:
    """Rows read from a read-only ``np.memmap`` of the table's bytes."""

    def __init__(self, table: GatherTable) -> None:
        self.table = table
        self._rows = np.memmap(
            table.path,
            dtype=np.dtype(table.dtype),
            mode="r",
            offset=table.offset,
            shape=(table.rows, table.cols),
        )

    def lookup(self, ids: npt.NDArray[np.int64], run_options: Any) -> npt.NDArray[np.float32]:
        del run_options  # a copy of a few rows: nothing to cancel
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.table.rows):
            bad = int(ids[(ids < 0) | (ids >= self.table.rows)][0])
            raise LlmError(
                f"token id {bad} is outside {self.table.path.name}'s embedding table of "
                f"{self.table.rows} rows: tokenizer and model are from different releases"
            )
        return np.asarray(self._rows[ids], dtype=np.float32)


class GraphEmbedding:
    """The ``embed_tokens`` graph run as an ONNX Runtime session."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def lookup(self, ids: npt.NDArray[np.int64], run_options: Any) -> npt.NDArray[np.float32]:
        (embeds,) = self.session.run(["inputs_embeds"], {"input_ids": ids[None, :]}, run_options)
        return np.asarray(embeds[0], dtype=np.float32)


def open_embedding(path: Path, config: SessionConfig, hidden_size: int) -> TokenEmbedding:
    """A memory-mapped table for a plain ``Gather`` graph, else a session on the graph."""
    scan_onnx(path)  # a missing or truncated file (or external data file) says so clearly
    try:
        table = plain_gather_table(path)
    except ValueError as exc:
        raise CorruptModelError(str(exc)) from exc
    if table is None:
        session = create_session(path, config)
        check_embed_tokens(session, path.name)
        return GraphEmbedding(session)
    if table.cols != hidden_size:
        raise UnsupportedModelError(
            f"{path.name} embeds tokens in {table.cols} values but the config's hidden_size "
            f"is {hidden_size}: the graphs and config.json are from different models"
        )
    return MappedEmbedding(table)
