"""ONNX Runtime session creation from a :class:`SessionConfig`, with errors that say what broke."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from glasses.accel import resolve_providers, runs_on, with_options
from glasses.extras import require
from glasses.llm.config import SessionConfig
from glasses.llm.errors import (
    CorruptModelError,
    LlmError,
    ModelError,
    ModelFileError,
    UnsupportedModelError,
)

log = logging.getLogger(__name__)

_OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


def onnxruntime() -> Any:
    return require("onnxruntime", "llm", purpose="the local LLM engine")


def session_options(config: SessionConfig) -> Any:
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.intra_op_threads
    options.inter_op_num_threads = config.inter_op_threads
    options.graph_optimization_level = getattr(
        ort.GraphOptimizationLevel, _OPT_LEVELS[config.graph_optimization]
    )
    options.log_severity_level = config.log_severity_level
    spin = "1" if config.allow_spinning else "0"
    options.add_session_config_entry("session.intra_op.allow_spinning", spin)
    options.add_session_config_entry("session.inter_op.allow_spinning", spin)
    if config.allow_spinning and config.stop_spinning_after_run:
        options.add_session_config_entry("session.force_spinning_stop", "1")
    options.add_session_config_entry(
        "session.qdq_matmulnbits_accuracy_level", str(config.qdq_matmulnbits_accuracy_level)
    )
    return options


def available_providers(config: SessionConfig) -> list[str]:
    """The configured providers this onnxruntime build has, CPU always last as the fallback
    (a warning names a GPU asked for but missing, and what to install)."""
    available = onnxruntime().get_available_providers()
    return list(resolve_providers("llm", config.providers, available).providers)


def create_session(path: Path, config: SessionConfig, model_bytes: bytes | None = None) -> Any:
    """A session for the model at ``path``; ``model_bytes`` (a rewritten graph of it whose
    external data lives in ``path``'s folder) is loaded instead when given."""
    ort = onnxruntime()
    options = session_options(config)
    model: str | bytes = str(path)
    if model_bytes is not None:
        model = model_bytes
        options.add_session_config_entry(
            "session.model_external_initializers_file_folder_path", str(path.parent)
        )
    providers = available_providers(config)
    try:
        session = ort.InferenceSession(
            model, sess_options=options, providers=with_options(providers)
        )
    except Exception as exc:
        raise _classify(exc, path) from exc
    runs_on("llm", providers, session)  # warns when a GPU asked for did not initialise
    return session


def _classify(exc: Exception, path: Path) -> LlmError | ModelError:
    kind = type(exc).__name__
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else kind
    unsupported = (
        "Could not find an implementation",
        "No Op registered",
        "not a registered",
        "Unrecognized attribute",  # e.g. GroupQueryAttention's softcap before onnxruntime 1.20
    )
    if kind == "NotImplemented" or any(text in message for text in unsupported):
        version = getattr(onnxruntime(), "__version__", "?")
        return UnsupportedModelError(
            f"{path.name} uses an operator this onnxruntime ({version}) cannot run; a newer "
            f"onnxruntime may: {message}"
        )
    if kind in ("InvalidProtobuf", "InvalidGraph") or "Protobuf parsing failed" in message:
        return CorruptModelError(f"{path} is not a valid ONNX model: {message}")
    if kind == "NoSuchFile":
        return ModelFileError(f"a file of {path.parent} is missing: {message}")
    return LlmError(f"onnxruntime could not load {path}: {message}")
