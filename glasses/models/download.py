"""``pull``: fetch a registry model file by file, check every byte, record a manifest.

The transfer itself is behind :class:`Downloader` (one method), so the Hugging Face Hub client
(:mod:`glasses.models.hub`) is only imported when a pull really goes to the network, and tests
copy from a local folder instead.  Each file is written to ``<target>.part`` and renamed only
once its size and checksum are right, so a folder never holds a half file under a real name;
an interrupted pull resumes from the partial file on the next run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn, Protocol, runtime_checkable

from glasses.errors import GlassesError
from glasses.models.manifest import Digests, FileRecord, Manifest, file_digests, write_manifest
from glasses.models.registry import ModelFile, ModelSpec
from glasses.models.store import MODELS_DIR_ENV, PARTIAL_SUFFIX, WORK_DIR_NAME


class DownloadError(GlassesError):
    """The transfer failed (network, missing file upstream, disk)."""


class ChecksumMismatchError(GlassesError):
    """A downloaded file is not the file the registry or the Hub describes."""


@dataclass(frozen=True)
class FetchRequest:
    repo: str
    revision: str
    path: str  # in the repository
    size_bytes: int | None  # expected, when known
    work_dir: Path  # scratch space that survives an interrupted pull (for resumable state)


class Downloader(Protocol):
    def fetch(self, request: FetchRequest, destination: Path) -> Iterator[int]:
        """Write the file to ``destination``, continuing from the bytes already there when it
        can; yield the number of bytes done so far as it goes."""
        ...


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size_bytes: int | None = None
    sha256: str | None = None  # LFS files
    git_sha1: str | None = None  # plain git files: their blob id


@runtime_checkable
class RemoteCatalog(Protocol):
    """Optionally implemented by a downloader: what the server says about the files."""

    def describe(
        self, repo: str, revision: str, paths: Sequence[str]
    ) -> Mapping[str, RemoteFile]: ...


@dataclass(frozen=True)
class PullProgress:
    file: str  # target path in the model folder
    bytes_done: int
    bytes_total: int | None
    finished: bool = False
    reused: bool = False  # already present and correct: nothing downloaded


@dataclass(frozen=True)
class _Expected:
    size_bytes: int | None
    sha256: str | None
    git_sha1: str | None
    checked_against: str


def _disagree(spec: ModelSpec, file: ModelFile, what: str, hub: object, ours: object) -> NoReturn:
    # Same pinned commit, different file: our registry entry is wrong, or the server is not
    # the Hub. Either way nothing should be downloaded (and certainly not 900 MB of it).
    raise ChecksumMismatchError(
        f"{spec.repo}@{spec.revision}: the Hub lists {file.path} with {what} {hub}, "
        f"but glasses expects {ours}; not downloading. Update glasses, or report the entry."
    )


def _expected(spec: ModelSpec, file: ModelFile, remote: RemoteFile | None) -> _Expected:
    if remote is None:
        remote = RemoteFile(file.path)
    if file.sha256 and remote.sha256 and remote.sha256 != file.sha256:
        _disagree(spec, file, "sha256", remote.sha256, file.sha256)
    if file.size_bytes and remote.size_bytes and remote.size_bytes != file.size_bytes:
        _disagree(spec, file, "size", remote.size_bytes, file.size_bytes)
    sha256 = file.sha256 or remote.sha256
    git_sha1 = remote.git_sha1 if not sha256 else None
    from_hub = bool(remote.sha256 or remote.git_sha1)
    sources = [name for name, ok in (("registry", bool(file.sha256)), ("hub", from_hub)) if ok]
    size = file.size_bytes if file.size_bytes is not None else remote.size_bytes
    return _Expected(size, sha256, git_sha1, "+".join(sources) or "none")


def _problem(expected: _Expected, got: Digests) -> str | None:
    if expected.size_bytes is not None and got.size_bytes != expected.size_bytes:
        what = "truncated" if got.size_bytes < expected.size_bytes else "too long"
        return f"{what}: {got.size_bytes} bytes, expected {expected.size_bytes}"
    if expected.sha256 and got.sha256 != expected.sha256:
        return f"sha256 {got.sha256}, expected {expected.sha256}"
    if expected.git_sha1 and got.git_sha1 != expected.git_sha1:
        return f"git blob id {got.git_sha1}, expected {expected.git_sha1}"
    return None


def _check_free_space(folder: Path, needed_bytes: int) -> None:
    free = shutil.disk_usage(folder).free
    if needed_bytes > free:
        raise DownloadError(
            f"not enough disk space in {folder}: {needed_bytes / 1e6:.0f} MB to download, "
            f"{free / 1e6:.0f} MB free (set ${MODELS_DIR_ENV} to use another disk)"
        )


def pull(spec: ModelSpec, folder: Path, downloader: Downloader) -> Iterator[PullProgress]:
    """Download ``spec`` into ``folder``; the manifest is written when the iterator ends."""
    work_dir = folder / WORK_DIR_NAME
    paths = [f.path for f in spec.files]
    remote: Mapping[str, RemoteFile] = (
        downloader.describe(spec.repo, spec.revision, paths)
        if isinstance(downloader, RemoteCatalog)
        else {}
    )
    expectations = [_expected(spec, f, remote.get(f.path)) for f in spec.files]
    folder.mkdir(parents=True, exist_ok=True)  # only now: a failed lookup leaves no folder
    missing = sum(
        e.size_bytes or 0
        for f, e in zip(spec.files, expectations, strict=True)
        if not (folder / f.target).is_file()
    )
    _check_free_space(folder, missing)
    records: list[FileRecord] = []
    for file, expected in zip(spec.files, expectations, strict=True):
        target = folder / file.target
        if target.is_file():
            # Only a checked file is ever renamed into place, so one that matches what we know
            # (or that nothing is known against) is kept: re-pulling is cheap when complete.
            digests = file_digests(target)
            if _problem(expected, digests) is None:
                yield PullProgress(file.target, digests.size_bytes, digests.size_bytes, True, True)
                records.append(_record(file, digests, expected))
                continue
            target.unlink()  # stale or damaged: fetch it again
        digests = yield from _download(spec, file, expected, target, downloader, work_dir)
        yield PullProgress(file.target, digests.size_bytes, digests.size_bytes, True)
        records.append(_record(file, digests, expected))
    write_manifest(
        folder,
        Manifest(
            name=spec.name,
            kind=spec.kind,
            repo=spec.repo,
            revision=spec.revision,
            variant=spec.variant,
            pulled_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            files=tuple(records),
        ),
    )
    shutil.rmtree(work_dir, ignore_errors=True)


def _download(
    spec: ModelSpec,
    file: ModelFile,
    expected: _Expected,
    target: Path,
    downloader: Downloader,
    work_dir: Path,
) -> Generator[PullProgress, None, Digests]:
    """Fetch one file through ``<target>.part``; rename it only once it checks out."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    size = partial.stat().st_size if partial.is_file() else 0
    if expected.size_bytes is not None and size > expected.size_bytes:
        partial.unlink()  # longer than the file can be: not a prefix of it
        size = 0
    # A complete partial (a pull stopped while hashing it) needs no transfer, just the check.
    if size == 0 or size != expected.size_bytes:
        request = FetchRequest(spec.repo, spec.revision, file.path, expected.size_bytes, work_dir)
        for done in downloader.fetch(request, partial):
            yield PullProgress(file.target, done, expected.size_bytes)
    digests = file_digests(partial)
    problem = _problem(expected, digests)
    if problem is not None:
        partial.unlink()  # resuming onto bad bytes would only repeat the failure
        raise ChecksumMismatchError(
            f"{file.target} of {spec.name} is damaged ({problem}); it was deleted, "
            f"run  glasses models pull {spec.name}  again to fetch it anew"
        )
    os.replace(partial, target)
    return digests


def _record(file: ModelFile, digests: Digests, expected: _Expected) -> FileRecord:
    return FileRecord(
        path=file.target,
        size_bytes=digests.size_bytes,
        sha256=digests.sha256,
        source=file.path,
        checked_against=expected.checked_against,
    )
