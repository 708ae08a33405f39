"""ASR partials against translation on the CPU, on real threads and the real clock.

A partial's work is a decode of the utterance so far (5 s here); the model generates without
pause on another thread. Both of ONNX Runtime's ways to run the model's threads are measured,
interleaved round by round so a shared machine's busy spells hit both: spinning (busy-waiting
between operators: fastest alone, but the threads hold the cores) and not spinning
(``llm.spinning``: ``auto`` turns it off while speech recognition runs on the CPU)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from glasses.llm import EngineConfig, LlmEngine, SessionConfig
from glasses.llm.generator import GenerationOptions
from glasses.llm.sampling import SamplingConfig
from glasses.modes.prompts import translate_messages
from translate_bench.metrics import stats
from translate_bench.speech import RATE

MODES = {"spinning": True, "no_spinning": False}  # SessionConfig.allow_spinning
GENERATIONS_ALONE = 3  # per round: the model's decode speed on an otherwise idle process
START_TIMEOUT_S = 120.0  # a first token slower than this means something is broken


class Contention:
    """One model loaded per mode; :meth:`round` measures every case once for each."""

    def __init__(self, recognizer: Any, model_dir: Path, audio: np.ndarray, repeats: int) -> None:
        self.recognizer, self.window, self.repeats = recognizer, audio[: 5 * RATE], repeats
        self.chat = translate_messages(
            "today we will walk through three large galleries", "en", "zh"
        )
        self.options = GenerationOptions(48, SamplingConfig(greedy=True))
        self.engines = {
            mode: LlmEngine.load(model_dir, EngineConfig(session=SessionConfig(allow_spinning=on)))
            for mode, on in MODES.items()
        }
        self.samples: dict[str, dict[str, list[float]]] = {
            mode: {"asr_alone_ms": [], "asr_with_llm_ms": [], "llm_alone": [], "llm_with_asr": []}
            for mode in MODES
        }

    def decode_ms(self) -> float:
        started = time.perf_counter()
        self.recognizer.recognize(self.window)
        return (time.perf_counter() - started) * 1000

    def round(self) -> None:
        for mode, engine in self.engines.items():
            got = self.samples[mode]
            for _ in range(GENERATIONS_ALONE):
                got["llm_alone"].append(self.tokens_per_s(engine))
            got["asr_alone_ms"] += [self.decode_ms() for _ in range(self.repeats)]
            self.together(engine, got)

    def tokens_per_s(self, engine: LlmEngine) -> float:
        timings = engine.generate(self.chat, self.options).timings
        return timings.decode_tokens_per_s if timings is not None else 0.0

    def together(self, engine: LlmEngine, got: dict[str, list[float]]) -> None:
        """ASR decodes back to back while the model generates, until ``repeats`` decodes and
        at least one whole generation have run side by side."""
        stop, generating, asr_on = threading.Event(), threading.Event(), threading.Event()
        speeds: list[float] = []

        def generate() -> None:
            while not stop.is_set():
                overlapped = asr_on.is_set()
                stream = engine.stream(self.chat, self.options)
                for _ in stream:
                    generating.set()
                timings = stream.result.timings
                if overlapped and asr_on.is_set() and timings is not None:
                    speeds.append(timings.decode_tokens_per_s)

        thread = threading.Thread(target=generate, name="bench-llm", daemon=True)
        thread.start()
        if not generating.wait(START_TIMEOUT_S):
            raise RuntimeError(f"the model produced no token in {START_TIMEOUT_S:.0f} s")
        asr_on.set()
        decodes: list[float] = []
        while len(decodes) < self.repeats or not speeds:
            decodes.append(self.decode_ms())
        asr_on.clear()
        stop.set()
        thread.join()
        got["asr_with_llm_ms"] += decodes
        got["llm_with_asr"] += speeds

    def report(self, model_dir: Path, rounds: int) -> dict[str, Any]:
        out: dict[str, Any] = {"model": str(model_dir), "rounds": rounds}
        for mode, got in self.samples.items():
            out[mode] = {key: stats(values) for key, values in got.items()}
        return out


def contention(
    recognizer: Any, model_dir: Path, audio: np.ndarray, repeats: int, rounds: int
) -> dict[str, Any]:
    """ASR decodes alone and while the model at ``model_dir`` generates, and the model's decode
    speed alone and while ASR decodes, with and without spinning threads (ms, tokens/s)."""
    bench = Contention(recognizer, model_dir, audio, repeats)
    for engine in bench.engines.values():
        engine.generate(bench.chat, GenerationOptions(4))  # warm: arenas sized, prefix cached
    for _ in range(rounds):
        bench.round()
    return bench.report(model_dir, rounds)
