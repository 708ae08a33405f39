"""A generation's ``RunOptions`` with the vision encoder's own beside them.

ONNX Runtime's CPU arena keeps the largest buffers a session ever needed: after a 640x480
picture the vision encoder holds about 0.7 GiB of attention buffers (16 heads x 1564^2 float
scores and their softmax) for good, on top of the decoder's prefill.  The run option
``memory.enable_memory_arena_shrinkage`` hands the arena's free regions back to the system at
the end of a run; set on the decoder's runs it would re-allocate every token's buffers, so the
encoder runs under options of its own (``encode_options``).  Cancelling a generation sets
``terminate`` on its options (:class:`~glasses.llm.generator.CancelToken`); here that reaches
the encoder's too, so a cancel still stops a long encode.
"""

from __future__ import annotations

import functools
from typing import Any

SHRINK_CPU_ARENA = ("memory.enable_memory_arena_shrinkage", "cpu:0")


@functools.cache
def _options_class(base: type) -> type:
    terminate = base.terminate  # type: ignore[attr-defined]

    class GenerationRunOptions(base):  # type: ignore[misc]
        """``RunOptions`` whose ``terminate`` also terminates ``encode_options``."""

        def __init__(self, encode_options: Any) -> None:
            super().__init__()
            self.encode_options = encode_options

        @property
        def terminate(self) -> bool:
            return bool(terminate.__get__(self))

        @terminate.setter
        def terminate(self, value: bool) -> None:
            terminate.__set__(self, value)
            self.encode_options.terminate = value

    return GenerationRunOptions


def generation_run_options(ort: Any, *, shrink_encoder_arena: bool) -> Any:
    """The decoder's ``RunOptions`` for one generation, the encoder's as ``encode_options``
    (shrinking the CPU arena after each picture when ``shrink_encoder_arena``)."""
    encode = ort.RunOptions()
    if shrink_encoder_arena:
        encode.add_run_config_entry(*SHRINK_CPU_ARENA)
    return _options_class(ort.RunOptions)(encode)


def encode_options(run_options: Any) -> Any:
    """The vision encoder's options of a generation (``run_options`` itself otherwise)."""
    return getattr(run_options, "encode_options", run_options)
