"""Where models live on disk: the one place that turns a model name into a folder.

Named models (``--model qwen3-0.6b-int4``) are folders under :func:`models_dir`:
``$GLASSES_MODELS_DIR`` if set, else the per-user cache folder (``~/.cache/glasses/models`` on
Linux). A cache, because every file in it can be pulled again; the environment variable lets a
device keep them on a bigger disk. Any other argument that names an existing folder, or looks
like a path, is used as it is, so every command also takes a plain ``--model PATH``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from glasses.errors import GlassesError
from glasses.extras import require
from glasses.models.manifest import read_manifest
from glasses.models.registry import ModelSpec, find_spec

MODELS_DIR_ENV = "GLASSES_MODELS_DIR"
# Scratch space of an unfinished pull (resumable partial downloads); not part of the model.
WORK_DIR_NAME = ".download"
PARTIAL_SUFFIX = ".part"


class ModelNotFoundError(GlassesError):
    """Neither a folder nor the name of a model in the models folder."""


def models_dir() -> Path:
    configured = os.environ.get(MODELS_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    platformdirs = require("platformdirs", "models", purpose="locating downloaded models")
    return Path(platformdirs.user_cache_dir("glasses")) / "models"


def looks_like_path(name_or_path: str) -> bool:
    """Model names are bare words; anything else is meant as a folder (``./x``, ``~/x``, ``a/b``)."""
    return (
        not name_or_path
        or os.sep in name_or_path
        or "/" in name_or_path
        or name_or_path.startswith((".", "~"))
    )


def model_dir(name: str) -> Path:
    """The folder a named model is (or would be) pulled into."""
    if looks_like_path(name):
        raise ModelNotFoundError(f"{name!r} is a path, not a model name")
    return models_dir() / name


def resolve_model_dir(name_or_path: str) -> Path:
    """A folder path as given, or a model name looked up in :func:`models_dir`."""
    given = Path(name_or_path).expanduser()
    if given.is_dir() or looks_like_path(name_or_path):
        return given
    named = models_dir() / name_or_path
    if named.is_dir():
        return named
    hint = (
        f"; run  glasses models pull {name_or_path}"
        if find_spec(name_or_path)
        else "; see  glasses models list"
    )
    raise ModelNotFoundError(
        f"no model folder {name_or_path!r}: not a directory, and not in {models_dir()}{hint}"
    )


InstallStatus = Literal["installed", "unverified", "incomplete", "not installed"]


@dataclass(frozen=True)
class InstallState:
    status: InstallStatus
    path: Path
    size_bytes: int  # on disk if anything is there, else the registry's estimate


def install_state(spec: ModelSpec) -> InstallState:
    """Cheap status for ``glasses models list``: file presence and sizes, no hashing."""
    folder = model_dir(spec.name)
    if not folder.is_dir():
        return InstallState("not installed", folder, spec.approx_size_bytes)
    targets = [folder / f.target for f in spec.files]
    present = [t for t in targets if t.is_file()]
    size = sum(t.stat().st_size for t in present)
    unfinished = (folder / WORK_DIR_NAME).exists() or any(
        (folder / (f.target + PARTIAL_SUFFIX)).exists() for f in spec.files
    )
    if len(present) < len(targets) or unfinished:
        return InstallState("incomplete", folder, size)
    try:
        manifest = read_manifest(folder)
    except GlassesError:
        manifest = None
    if manifest is None:
        return InstallState("unverified", folder, size)  # copied in by hand, not pulled
    sizes = {r.path: r.size_bytes for r in manifest.files}
    for spec_file, target in zip(spec.files, targets, strict=True):
        if sizes.get(spec_file.target) != target.stat().st_size:
            return InstallState("incomplete", folder, size)
    return InstallState("installed", folder, size)


def installed_model_dir(name: str) -> Path | None:
    """The folder of a pulled registry model, None unless all its files are there.

    For defaults elsewhere (e.g. the VAD or ASR model when none is configured).
    """
    spec = find_spec(name)
    if spec is None:
        return None
    state = install_state(spec)
    return state.path if state.status in ("installed", "unverified") else None
