"""``verify``: re-hash a model folder against its manifest (and the registry) without network.

Sizes are compared first, so a truncated file is named as such without reading it; every
other file is hashed in full, which is the only way to catch a flipped bit on an SD card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from glasses.models.manifest import Manifest, file_digests, read_manifest
from glasses.models.registry import ModelSpec, find_spec

FileStatus = Literal["ok", "missing", "truncated", "wrong size", "corrupted", "unchecked"]
PROBLEMS: frozenset[FileStatus] = frozenset({"missing", "truncated", "wrong size", "corrupted"})


@dataclass(frozen=True)
class FileCheck:
    path: str
    status: FileStatus
    detail: str = ""


@dataclass(frozen=True)
class VerifyReport:
    folder: Path
    name: str | None  # registry name, if known
    manifest: Manifest | None
    checks: tuple[FileCheck, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and not any(c.status in PROBLEMS for c in self.checks)

    @property
    def fix(self) -> str:
        # A manifest means glasses pulled the folder, so pulling repairs it (only bad files).
        if self.name is not None and (self.manifest is not None or find_spec(self.name)):
            return f"run  glasses models pull {self.name}  to fetch the damaged files again"
        return "copy the model folder again from its source"


@dataclass(frozen=True)
class _Want:
    size_bytes: int | None
    sha256: str | None


def _expectations(manifest: Manifest | None, spec: ModelSpec | None) -> dict[str, _Want]:
    wants: dict[str, _Want] = {}
    if spec is not None:
        for f in spec.files:
            wants[f.target] = _Want(f.size_bytes, f.sha256)
    if manifest is not None:  # what was measured at pull time wins over what was published
        for r in manifest.files:
            wants[r.path] = _Want(r.size_bytes, r.sha256)
    return wants


def _check(folder: Path, path: str, want: _Want) -> FileCheck:
    file = folder / path
    if not file.is_file():
        return FileCheck(path, "missing")
    size = file.stat().st_size
    if want.size_bytes is not None and size != want.size_bytes:
        status: FileStatus = "truncated" if size < want.size_bytes else "wrong size"
        return FileCheck(path, status, f"{size} bytes, expected {want.size_bytes}")
    if want.sha256 is None:
        return FileCheck(path, "unchecked", "no checksum on record")
    got = file_digests(file).sha256
    if got != want.sha256:
        return FileCheck(path, "corrupted", f"sha256 {got}, expected {want.sha256}")
    return FileCheck(path, "ok")


def verify_folder(
    folder: Path,
    spec: ModelSpec | None = None,
    on_file: Callable[[str], None] | None = None,
) -> VerifyReport:
    """Check every file the manifest (or the registry entry ``spec``) lists.

    ``on_file`` is told each file name before it is hashed (large files take seconds).
    """
    manifest = read_manifest(folder)
    if spec is None and manifest is not None:
        spec = find_spec(manifest.name)
    if spec is not None and manifest is not None and manifest.name != spec.name:
        spec = None  # a folder pulled under another name: trust its own manifest only
    checks = []
    for path, want in sorted(_expectations(manifest, spec).items()):
        if on_file is not None:
            on_file(path)
        checks.append(_check(folder, path, want))
    name = manifest.name if manifest is not None else (spec.name if spec else None)
    return VerifyReport(folder, name, manifest, tuple(checks))
