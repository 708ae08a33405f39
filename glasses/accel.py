"""Which execution provider each model runs on: the ``providers`` settings resolved against what
this machine has, and what a session really registered.

``llm.providers``, ``ocr.providers`` and ``asr.providers`` each take a list in preference order
of ``tensorrt``, ``cuda`` and ``cpu``, or ``["auto"]``: TensorRT, then CUDA, whichever is
there.  The CPU is always the last resort.  A GPU asked for but missing (onnxruntime from PyPI
is CPU-only on a Jetson), or one that failed to initialise (onnxruntime then registers the CPU
alone, with one log line of its own), is logged as a warning naming what to install.

OCR (rapidocr) can use CUDA but not TensorRT; speech recognition (sherpa-onnx, which carries
its own onnxruntime) uses CUDA only when its wheel was built with it.  Silero VAD always runs
on the CPU: one 32 ms window is about 0.1 ms of work, less than a GPU launch costs.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

log = logging.getLogger(__name__)

PROVIDER_CHOICES: Final = ("auto", "tensorrt", "cuda", "cpu")
ORT_NAMES: Final = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
AUTO: Final = ("tensorrt", "cuda")
CPU: Final = "CPUExecutionProvider"
CUDA: Final = "CUDAExecutionProvider"
TENSORRT: Final = "TensorrtExecutionProvider"
ORT_GPU_FIX: Final = (
    "install the onnxruntime-gpu wheel built for your JetPack "
    "(scripts/install.sh --ort-wheel PATH_OR_URL)"
)
SHERPA_GPU_FIX: Final = (
    "install a sherpa-onnx wheel built with CUDA (https://k2-fsa.github.io/sherpa/onnx/cuda.html)"
)


def short_name(provider: str) -> str:
    """``CUDAExecutionProvider`` -> ``cuda``: the settings' names, used in logs and status."""
    for short, full in ORT_NAMES.items():
        if provider == full:
            return short
    return provider.removesuffix("ExecutionProvider").lower()


@dataclass(frozen=True)
class ProviderPlan:
    providers: tuple[str, ...]
    """onnxruntime provider names to ask a session for, in order, the CPU last."""
    missing: tuple[str, ...]
    """GPU providers asked for that are not usable here (empty: all is as asked)."""

    @property
    def primary(self) -> str:
        """What the model runs on if the session registers what is asked: ``cuda``, ``cpu``..."""
        return short_name(self.providers[0])


def plan_providers(asked: Sequence[str], available: Collection[str]) -> ProviderPlan:
    """The providers to use for ``asked`` (setting names or onnxruntime names) given the
    ``available`` ones.  ``auto`` misses something only when none of its GPUs is there."""
    wanted: list[str] = []
    for name in asked:
        wanted += [ORT_NAMES[n] for n in AUTO] if name == "auto" else [ORT_NAMES.get(name, name)]
    wanted = list(dict.fromkeys(wanted))
    chosen = tuple(p for p in wanted if p in available and p != CPU)
    missing = tuple(p for p in wanted if p not in available and p != CPU)
    if "auto" in asked and chosen:
        missing = tuple(p for p in missing if p not in (ORT_NAMES[n] for n in AUTO))
    return ProviderPlan((*chosen, CPU), missing)


def resolve_providers(
    model: str, asked: Sequence[str], available: Collection[str], fix: str = ORT_GPU_FIX
) -> ProviderPlan:
    """:func:`plan_providers`, logging a warning when a GPU asked for is not there."""
    plan = plan_providers(asked, available)
    if plan.missing:
        usable = ", ".join(short_name(p) for p in available if p in ORT_NAMES.values())
        log.warning(
            "%s: %s asked for, but %s is not available here (usable: %s); running on %s. "
            "For the GPU: %s",
            model,
            ", ".join(asked),
            ", ".join(plan.missing),
            usable,
            plan.primary.upper(),
            fix,
        )
    return plan


def runs_on(model: str, asked: Sequence[str], session: Any) -> str:
    """What ``session`` really registered first (``cuda``, ``cpu``...), with a warning when
    that is not the ``asked`` provider: its initialisation failed (missing CUDA or cuDNN
    libraries, a JetPack that does not match the wheel) and onnxruntime fell back."""
    registered = list(session.get_providers())
    got = registered[0] if registered else CPU
    if asked and got != asked[0]:
        log.warning(
            "%s: %s did not initialise (onnxruntime's own log line says why: CUDA/cuDNN "
            "libraries, or a wheel not built for this JetPack); running on %s. For the GPU: %s",
            model,
            asked[0],
            short_name(got).upper(),
            ORT_GPU_FIX,
        )
    return short_name(got)


def with_options(providers: Sequence[str]) -> list[str | tuple[str, dict[str, str]]]:
    """The ``providers`` argument of an ``InferenceSession``: TensorRT keeps the engines it
    builds (minutes on a Jetson) in ``$XDG_CACHE_HOME/glasses/tensorrt`` for the next start."""
    if TENSORRT not in providers:
        return list(providers)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glasses/tensorrt"
    options = {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache)}
    return [(p, options) if p == TENSORRT else p for p in providers]


def sherpa_has_cuda() -> bool:
    """Whether the installed sherpa-onnx carries onnxruntime's CUDA provider library (the
    PyPI wheels do not; ``+cuda`` builds do)."""
    spec = importlib.util.find_spec("sherpa_onnx")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        root = Path(folder)
        for place in (root, root.parent / "sherpa_onnx.libs"):
            if place.is_dir() and any(place.rglob("libonnxruntime_providers_cuda*")):
                return True
    return False


def sherpa_available() -> tuple[str, ...]:
    """The providers glasses can give sherpa-onnx here (it knows ``cuda`` and ``cpu``)."""
    return (CUDA, CPU) if sherpa_has_cuda() else (CPU,)


def _tiny_model() -> bytes:
    """An ONNX model of one Identity node on a float[1] (ir 7, opset 13), written by hand."""
    from glasses.onnx_wire.protobuf import bytes_field, int_field

    def value(name: str) -> bytes:  # ValueInfoProto{name, type{tensor_type{elem float, [1]}}}
        shape = bytes_field(1, bytes_field(1, int_field(1, 1)))
        return bytes_field(1, name.encode()) + bytes_field(
            2, bytes_field(1, int_field(1, 1) + bytes_field(2, shape))
        )

    node = bytes_field(1, b"x") + bytes_field(2, b"y") + bytes_field(4, b"Identity")
    graph = (
        bytes_field(1, node)
        + bytes_field(2, b"probe")
        + bytes_field(11, value("x"))
        + bytes_field(12, value("y"))
    )
    opset = int_field(2, 13)  # OperatorSetIdProto.version, the default domain
    return int_field(1, 7) + bytes_field(7, graph) + bytes_field(8, opset)


def probe_session(providers: Sequence[str]) -> list[str]:
    """The providers a one-node session really registers when asked for ``providers``: whether
    CUDA or TensorRT initialises here, in well under a second (used by ``glasses doctor``)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # the outcome is the report; onnxruntime's lines are noise
    session = onnxruntime.InferenceSession(
        _tiny_model(), sess_options=options, providers=with_options(providers)
    )
    return list(session.get_providers())


@dataclass(frozen=True)
class ModelAccel:
    """For ``glasses doctor``: what one model asks for and what it would really run on here."""

    model: str  # "llm", "ocr", "asr", "vad"
    asked: tuple[str, ...]  # its providers setting
    runs_on: str  # "tensorrt", "cuda", "cpu"
    problem: str = ""  # why not what was asked, "" if as asked
    fix: str = ""


def _checked(model: str, asked: Sequence[str], available: Collection[str], fix: str) -> ModelAccel:
    """Resolves ``asked``; a GPU that resolves is opened on a one-node model to see that it
    really initialises (the cost of this check falls only on machines that have one)."""
    plan = plan_providers(asked, available)
    missing = ", ".join(short_name(p) for p in plan.missing)
    problem = f"{missing} not available here" if missing else ""
    if plan.providers[0] == CPU:
        return ModelAccel(model, tuple(asked), "cpu", problem, fix if problem else "")
    try:
        registered = probe_session(plan.providers)
    except Exception as exc:  # a provider library that cannot load raises on some builds
        registered, problem = [CPU], f"{plan.primary} failed to start: {exc}"
    if registered[0] != plan.providers[0]:
        problem = problem or f"{plan.primary} did not initialise (CUDA/cuDNN libraries?)"
    return ModelAccel(
        model, tuple(asked), short_name(registered[0]), problem, fix if problem else ""
    )


def doctor_accel(
    asked: dict[str, tuple[str, ...]], ort_available: Sequence[str] | None
) -> tuple[ModelAccel, ...]:
    """``asked``: the providers settings of ``llm``, ``ocr`` and ``asr``; VAD is always CPU."""
    ort = list(ort_available or [CPU])
    records = []
    if "llm" in asked:
        records.append(_checked("llm", asked["llm"], ort, ORT_GPU_FIX))
    if "ocr" in asked:
        records.append(
            _checked("ocr", asked["ocr"], [p for p in ort if p != TENSORRT], ORT_GPU_FIX)
        )
    if "asr" in asked:
        plan = plan_providers(asked["asr"], sherpa_available())
        missing = ", ".join(short_name(p) for p in plan.missing)
        problem = f"{missing} not in this sherpa-onnx" if missing else ""
        fix = SHERPA_GPU_FIX if problem else ""
        records.append(ModelAccel("asr", asked["asr"], plan.primary, problem, fix))
    return (*records, ModelAccel("vad", ("cpu",), "cpu"))
