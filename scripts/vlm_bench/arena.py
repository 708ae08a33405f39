"""The vision encoder's memory arena three ways (``--encoder-arena``), and what shrinking it
costs, timed interleaved in one process (``--arena-pairs``).

* ``keep``: ONNX Runtime's CPU arena keeps the largest buffers the encoder ever needed (as
  before issue #15);
* ``shrink``: the engine's default (``VisionConfig.shrink_encoder_arena``): the arena hands its
  free regions back after each picture;
* ``off``: the encoder's session has no arena (``enable_cpu_mem_arena = False``): every buffer
  comes from malloc.  The engine has no setting for it (it was measured and not chosen), so the
  benchmark reopens the encoder's session so.

A pair is two encodes of the same picture under one setting, the second timed: under ``keep``
it finds its buffers ready, under ``shrink`` it allocates them afresh, which is the cost.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any, Final, Literal

Arena = Literal["keep", "shrink", "off"]
ARENAS: Final = ("keep", "shrink", "off")
PAIRED: Final = ("keep", "shrink")  # one session can switch between these, run by run


def drop_arena(engine: Any) -> None:
    """Reopen ``engine``'s vision encoder (a ``VisionLlmEngine``) without a CPU arena (and
    stop shrinking it: ONNX Runtime refuses to shrink an arena a session does not have)."""
    from glasses.accel import with_options
    from glasses.llm.session import available_providers, onnxruntime, session_options

    config = engine.config.session
    path = engine.vision_folder.vision_encoder_path
    engine._vision_session = None  # its weights are freed before the new session loads them
    options = session_options(config)
    options.enable_cpu_mem_arena = False
    providers = with_options(available_providers(config))
    engine._vision_session = onnxruntime().InferenceSession(
        str(path), sess_options=options, providers=providers
    )
    set_shrink(engine, False)


def set_shrink(engine: Any, shrink: bool) -> None:
    """Whether ``engine``'s next generations shrink the encoder's arena after a picture (the
    engine reads ``VisionConfig.shrink_encoder_arena`` once, at load: its runner keeps it)."""
    engine._runner._shrink = shrink


def time_pairs(
    encode_s: Callable[[bytes], float],
    switch: Callable[[bool], None],
    pictures: dict[str, bytes],
    pairs: int,
) -> dict[str, dict[str, list[float]]]:
    """``pairs`` pairs of each of :data:`PAIRED` per picture, interleaved (keep, shrink, keep,
    ...): the second encode of each pair, in seconds, by picture and arena."""
    out: dict[str, dict[str, list[float]]] = {}
    for key, jpeg in pictures.items():
        times: dict[str, list[float]] = {arena: [] for arena in PAIRED}
        for _ in range(pairs):
            for arena in PAIRED:
                switch(arena == "shrink")
                encode_s(jpeg)  # the first of the pair: the arena as the other setting left it
                times[arena].append(encode_s(jpeg))
        out[key] = times
    return out


def pairs_markdown(pairs: dict[str, dict[str, list[float]]]) -> list[str]:
    """The table of :func:`time_pairs`' result (ranges, and the medians' ratio)."""
    if not pairs:
        return []
    lines = [
        "| picture | encode, arena kept (ms) | encode, arena shrunk (ms) | shrunk / kept (medians) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key, times in pairs.items():
        kept, shrunk = times["keep"], times["shrink"]

        def span(values: list[float]) -> str:
            digits = 0 if max(values) >= 0.1 else 2  # the tiny model's encodes take a ms
            return f"{1000 * min(values):,.{digits}f}-{1000 * max(values):,.{digits}f}"

        ratio = statistics.median(shrunk) / statistics.median(kept)
        lines.append(f"| {key} | {span(kept)} | {span(shrunk)} | {ratio:.2f}x |")
    return lines
