"""Model store: a registry of known-good models, where they live, pulling and verifying them.

Importing this package is cheap and never imports ``huggingface_hub``: only a pull that goes
to the network does (:mod:`glasses.models.hub`), and its absence is reported with the extra
to install (the ``models`` extra).
"""

from __future__ import annotations

from glasses.models.manifest import MANIFEST_NAME, FileRecord, Manifest, read_manifest
from glasses.models.registry import (
    MODEL_KINDS,
    REGISTRY,
    ModelFile,
    ModelKind,
    ModelSpec,
    UnknownModelError,
    find_spec,
    get_spec,
)
from glasses.models.store import (
    MODELS_DIR_ENV,
    InstallState,
    ModelNotFoundError,
    install_state,
    installed_model_dir,
    model_dir,
    models_dir,
    resolve_model_dir,
)

__all__ = [
    "MANIFEST_NAME",
    "MODELS_DIR_ENV",
    "MODEL_KINDS",
    "REGISTRY",
    "FileRecord",
    "InstallState",
    "Manifest",
    "ModelFile",
    "ModelKind",
    "ModelNotFoundError",
    "ModelSpec",
    "UnknownModelError",
    "find_spec",
    "get_spec",
    "install_state",
    "installed_model_dir",
    "model_dir",
    "models_dir",
    "read_manifest",
    "resolve_model_dir",
]
