"""``glasses-manifest.json``: what a pull wrote into a model folder, so it can be re-checked.

The manifest records the size and sha256 of every file as downloaded, and what that checksum
was compared with at pull time (the registry, the Hub, both, or nothing), so that
``glasses models verify`` can later tell a truncated or bit-rotted file from a good one
without the network.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from glasses.errors import GlassesError

MANIFEST_NAME = "glasses-manifest.json"
MANIFEST_FORMAT = 1
_CHUNK_BYTES = 1 << 20


class ManifestError(GlassesError):
    """The manifest exists but cannot be read."""


@dataclass(frozen=True)
class Digests:
    size_bytes: int
    sha256: str
    git_sha1: str  # the git blob id the Hub reports for files not stored in LFS


def file_digests(path: Path) -> Digests:
    """sha256 and git blob sha1 in one pass (the git id hashes a "blob <size>\\0" header)."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            sha256.update(chunk)
            git.update(chunk)
    return Digests(size, sha256.hexdigest(), git.hexdigest())


def inside_folder(path: str) -> str:
    """``path`` if it names a file inside the model folder; ValueError naming it otherwise.

    A manifest is read from disk: an entry like ``../../.ssh/id_rsa`` or ``/etc/shadow`` must
    not make ``glasses models verify`` (or anything else) read outside the folder.
    """
    parts = path.replace("\\", "/").split("/")
    if not path or path.startswith(("/", "\\")) or ".." in parts or (parts[0][1:2] == ":"):
        raise ValueError(
            f"file entry {path!r} is not inside the model folder (absolute, or with '..')"
        )
    return path


@dataclass(frozen=True)
class FileRecord:
    path: str  # relative to the model folder, POSIX separators
    size_bytes: int
    sha256: str
    source: str  # path in the repository it came from
    checked_against: str  # "registry+hub", "registry", "hub" or "none"


@dataclass(frozen=True)
class Manifest:
    name: str
    kind: str
    repo: str
    revision: str
    variant: str | None
    pulled_at: str  # ISO 8601, UTC
    files: tuple[FileRecord, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = MANIFEST_FORMAT
        data["files"] = [asdict(record) for record in self.files]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"unknown manifest format {data.get('format')!r}")
        files = tuple(
            FileRecord(
                path=inside_folder(str(f["path"])),
                size_bytes=int(f["size_bytes"]),
                sha256=str(f["sha256"]),
                source=str(f.get("source", f["path"])),
                checked_against=str(f.get("checked_against", "none")),
            )
            for f in data["files"]
        )
        variant = data.get("variant")
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            repo=str(data["repo"]),
            revision=str(data["revision"]),
            variant=None if variant is None else str(variant),
            pulled_at=str(data.get("pulled_at", "")),
            files=files,
        )


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, None if it has none; a damaged one is an error that says so."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{path} is unreadable ({exc}); pull the model again") from exc
    try:
        return Manifest.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ManifestError(
            f"{path} is not a glasses manifest ({exc}); pull the model again"
        ) from exc


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Written to a temporary file first: an interrupted write must not leave half a manifest."""
    path = folder / MANIFEST_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def pulled_variant(folder: Path) -> str | None:
    """The LLM file variant a pull fetched (``q4``), so that a pulled folder needs no
    ``--variant``; None for folders without a (readable) manifest."""
    try:
        manifest = read_manifest(folder)
    except ManifestError:
        return None  # opening the model reports the real problem, if there is one
    return manifest.variant if manifest is not None else None
