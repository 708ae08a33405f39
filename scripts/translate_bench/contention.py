"""ASR partials against translation on the CPU, on real threads and the real clock: decodes of
a 5 s utterance (a partial's work) alone, and while the model generates on another thread."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import numpy as np

from glasses.llm.generator import GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.modes.prompts import translate_messages
from translate_bench.metrics import stats
from translate_bench.speech import RATE


def contention(recognizer: Any, engine: Any, audio: np.ndarray, repeats: int) -> dict[str, Any]:
    """ASR decodes of a 5 s utterance (a partial's work) alone, while the model generates on
    another thread, and while it generates at nice 10 (real threads, real clock)."""
    window = audio[: 5 * RATE]
    chat = translate_messages("today we will walk through three large galleries", "en", "zh")
    options = GenerationOptions(48, SamplingConfig(greedy=True))

    def decodes() -> list[float]:
        out = []
        for _ in range(repeats):
            started = time.perf_counter()
            recognizer.recognize(window)
            out.append((time.perf_counter() - started) * 1000)
        return out

    result: dict[str, Any] = {"alone_ms": stats(decodes())}
    for name, nice in (("with_llm_ms", 0), ("with_llm_nice10_ms", 10)):
        stop, running = threading.Event(), threading.Event()

        def generate(
            nice: int = nice, stop: threading.Event = stop, running: threading.Event = running
        ) -> None:
            if nice:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
            while not stop.is_set():
                engine.generate(chat, options)
                running.set()

        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        running.wait(30)
        result[name] = stats(decodes())
        stop.set()
        thread.join(30)
    return result
