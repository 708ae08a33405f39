"""``pull`` and ``verify`` with an injected downloader that copies from a local folder."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

import glasses.cli
import glasses.commands.models
from glasses.cli import main
from glasses.models import registry
from glasses.models.download import (
    ChecksumMismatchError,
    FetchRequest,
    PullProgress,
    RemoteFile,
    pull,
)
from glasses.models.manifest import MANIFEST_NAME, ManifestError, file_digests, read_manifest
from glasses.models.registry import ModelFile, ModelSpec
from glasses.models.store import WORK_DIR_NAME
from glasses.models.verify import verify_folder

pytestmark = pytest.mark.fast

FILES = {  # repository path -> content
    "config.json": b'{"model_type": "test"}\n',
    "onnx/model.onnx": bytes(range(256)) * 40,  # 10 240 bytes: several chunks
    "tokens.txt": "".join(f"tok{i} {i}\n" for i in range(300)).encode(),
}


class CopyDownloader:
    """Copies ``source/<path>`` and resumes from the partial file, like an HTTP range request."""

    def __init__(self, source: Path, chunk_bytes: int = 1024, fail_at_bytes: int | None = None):
        self.source = source
        self.chunk_bytes = chunk_bytes
        self.fail_at_bytes = fail_at_bytes
        self.calls: list[tuple[str, int]] = []  # (path, offset the copy started at)

    def fetch(self, request: FetchRequest, destination: Path) -> Iterator[int]:
        start = destination.stat().st_size if destination.exists() else 0
        self.calls.append((request.path, start))
        with (self.source / request.path).open("rb") as src, destination.open("ab") as out:
            src.seek(start)
            done = start
            while chunk := src.read(self.chunk_bytes):
                if self.fail_at_bytes is not None and done >= self.fail_at_bytes:
                    raise ConnectionError("link dropped")
                out.write(chunk)
                out.flush()
                done += len(chunk)
                yield done


class CatalogDownloader(CopyDownloader):
    """Also answers ``describe``, as the Hub client does."""

    def __init__(self, source: Path, remote: Mapping[str, RemoteFile]) -> None:
        super().__init__(source)
        self.remote = remote

    def describe(self, repo: str, revision: str, paths: Sequence[str]) -> Mapping[str, RemoteFile]:
        return {p: self.remote[p] for p in paths if p in self.remote}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    for path, data in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


SPEC = ModelSpec(
    name="test-model",
    kind="asr",
    repo="example/test-model",
    revision="0123456789abcdef0123456789abcdef01234567",
    files=tuple(
        ModelFile(
            path,
            len(data),
            sha(data),
            local_path="model.onnx" if path == "onnx/model.onnx" else None,
        )
        for path, data in FILES.items()
    ),
    approx_size_bytes=sum(len(d) for d in FILES.values()),
    license="MIT",
    purpose="tests",
)


def test_pull_reports_progress_and_writes_a_manifest(tmp_path: Path, source: Path) -> None:
    folder = tmp_path / "models" / SPEC.name
    events = list(pull(SPEC, folder, CopyDownloader(source)))
    model = [e for e in events if e.file == "model.onnx"]
    assert [e.bytes_done for e in model[:-1]] == list(range(1024, 10241, 1024))
    assert all(e.bytes_total == 10240 for e in model)
    assert model[-1] == PullProgress("model.onnx", 10240, 10240, finished=True)
    assert [e.file for e in events if e.finished] == ["config.json", "model.onnx", "tokens.txt"]
    for path, data in FILES.items():
        assert (folder / ("model.onnx" if path.startswith("onnx/") else path)).read_bytes() == data
    data = json.loads((folder / MANIFEST_NAME).read_text())
    assert (data["format"], data["name"], data["kind"]) == (1, "test-model", "asr")
    assert (data["repo"], data["revision"]) == (SPEC.repo, SPEC.revision)
    assert data["files"][1] == {
        "path": "model.onnx",
        "size_bytes": 10240,
        "sha256": sha(FILES["onnx/model.onnx"]),
        "source": "onnx/model.onnx",
        "checked_against": "registry",
    }
    leftovers = [p.name for p in folder.rglob("*") if p.suffix == ".part"]
    assert leftovers == [] and not (folder / WORK_DIR_NAME).exists()


def test_second_pull_reuses_checked_files(tmp_path: Path, source: Path) -> None:
    folder = tmp_path / SPEC.name
    list(pull(SPEC, folder, CopyDownloader(source)))
    again = CopyDownloader(source)
    events = list(pull(SPEC, folder, again))
    assert again.calls == [] and all(e.reused and e.finished for e in events)


def test_interrupted_pull_resumes_from_the_partial_file(tmp_path: Path, source: Path) -> None:
    folder = tmp_path / SPEC.name
    with pytest.raises(ConnectionError):
        list(pull(SPEC, folder, CopyDownloader(source, fail_at_bytes=4096)))
    partial = folder / "model.onnx.part"
    assert partial.stat().st_size == 4096 and not (folder / "model.onnx").exists()
    assert read_manifest(folder) is None  # no manifest until everything is in place
    resumed = CopyDownloader(source)
    events = list(pull(SPEC, folder, resumed))
    assert ("onnx/model.onnx", 4096) in resumed.calls
    assert ("config.json", 0) not in resumed.calls  # finished before the interruption
    first = next(e for e in events if e.file == "model.onnx")
    assert first.bytes_done == 5120  # continues after the 4096 bytes already there
    assert (folder / "model.onnx").read_bytes() == FILES["onnx/model.onnx"]
    assert verify_folder(folder).ok


def test_complete_or_overlong_partial_files(tmp_path: Path, source: Path) -> None:
    folder = tmp_path / SPEC.name
    folder.mkdir()
    # Stopped while hashing: the partial is whole, so only the check remains to be done.
    (folder / "model.onnx.part").write_bytes(FILES["onnx/model.onnx"])
    # Longer than the file: no prefix of it, so it cannot be resumed.
    (folder / "tokens.txt.part").write_bytes(FILES["tokens.txt"] + b"junk")
    downloader = CopyDownloader(source)
    list(pull(SPEC, folder, downloader))
    assert downloader.calls == [("config.json", 0), ("tokens.txt", 0)]
    assert verify_folder(folder).ok


def test_checksum_mismatch_names_the_file_and_the_fix(tmp_path: Path, source: Path) -> None:
    (source / "tokens.txt").write_bytes(FILES["tokens.txt"].replace(b"tok7 ", b"tok8 "))
    folder = tmp_path / SPEC.name
    with pytest.raises(ChecksumMismatchError) as caught:
        list(pull(SPEC, folder, CopyDownloader(source)))
    message = str(caught.value)
    assert "tokens.txt" in message and "sha256" in message
    assert "glasses models pull test-model" in message
    assert not (folder / "tokens.txt").exists() and not (folder / "tokens.txt.part").exists()
    assert read_manifest(folder) is None


def test_short_download_is_reported_as_truncated(tmp_path: Path, source: Path) -> None:
    (source / "onnx" / "model.onnx").write_bytes(FILES["onnx/model.onnx"][:5000])
    with pytest.raises(ChecksumMismatchError, match=r"model\.onnx .*truncated: 5000 bytes"):
        list(pull(SPEC, tmp_path / SPEC.name, CopyDownloader(source)))


def test_hub_metadata_is_checked_and_recorded(tmp_path: Path, source: Path) -> None:
    bare = replace(
        SPEC, files=tuple(ModelFile(f.path, local_path=f.local_path) for f in SPEC.files)
    )
    config = FILES["config.json"]
    git_id = hashlib.sha1(b"blob %d\0" % len(config) + config).hexdigest()
    remote = {
        "config.json": RemoteFile("config.json", len(config), git_sha1=git_id),
        "onnx/model.onnx": RemoteFile("onnx/model.onnx", 10240, sha(FILES["onnx/model.onnx"])),
    }
    folder = tmp_path / SPEC.name
    list(pull(bare, folder, CatalogDownloader(source, remote)))
    manifest = read_manifest(folder)
    assert manifest is not None
    assert [r.checked_against for r in manifest.files] == ["hub", "hub", "none"]
    assert file_digests(folder / "config.json").git_sha1 == git_id

    (source / "config.json").write_bytes(config.upper())  # same size, other bytes
    (folder / "config.json").unlink()
    with pytest.raises(ChecksumMismatchError, match=r"config\.json .*git blob id"):
        list(pull(bare, folder, CatalogDownloader(source, remote)))


def test_registry_and_hub_disagreeing_stops_before_downloading(
    tmp_path: Path, source: Path
) -> None:
    size = len(FILES["tokens.txt"])
    for remote, says in (
        (RemoteFile("tokens.txt", size, "f" * 64), r"tokens\.txt with sha256 f{64}"),
        (RemoteFile("tokens.txt", size + 1), rf"tokens\.txt with size {size + 1}"),
    ):
        downloader = CatalogDownloader(source, {"tokens.txt": remote})
        with pytest.raises(ChecksumMismatchError, match=says):
            list(pull(SPEC, tmp_path / SPEC.name, downloader))
        assert downloader.calls == []


def test_verify_finds_truncated_corrupted_and_missing_files(tmp_path: Path, source: Path) -> None:
    folder = tmp_path / SPEC.name
    list(pull(SPEC, folder, CopyDownloader(source)))
    assert verify_folder(folder).ok
    with (folder / "model.onnx").open("r+b") as fh:
        fh.truncate(3000)
    flipped = bytearray(FILES["tokens.txt"])
    flipped[100] ^= 1
    (folder / "tokens.txt").write_bytes(bytes(flipped))
    (folder / "config.json").unlink()
    report = verify_folder(folder)
    statuses = {c.path: (c.status, c.detail) for c in report.checks}
    assert statuses["model.onnx"] == ("truncated", "3000 bytes, expected 10240")
    assert statuses["tokens.txt"][0] == "corrupted"
    assert statuses["config.json"][0] == "missing"
    assert not report.ok and "glasses models pull test-model" in report.fix


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: Path
) -> tuple[Path, CopyDownloader]:
    """`glasses models` through the real main(), with the test model in the registry."""
    monkeypatch.setattr(glasses.cli, "COMMAND_MODULES", ("glasses.commands.models",))
    monkeypatch.setattr(registry, "REGISTRY", (*registry.REGISTRY, SPEC))
    downloader = CopyDownloader(source)
    monkeypatch.setattr(glasses.commands.models, "make_downloader", lambda: downloader)
    root = tmp_path / "store"
    monkeypatch.setenv("GLASSES_MODELS_DIR", str(root))
    return root, downloader


def test_cli_pull_list_and_verify(
    cli: tuple[Path, CopyDownloader], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = cli
    assert main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert "test-model" in listed and "not installed" in listed and str(root) in listed
    assert main(["models", "pull", "test-model"]) == 0
    out, err = capsys.readouterr()
    assert f"test-model: ready in {root / 'test-model'}" in out
    assert "model.onnx  10.2 kB  ok" in err
    assert main(["models", "list", "--json"]) == 0
    entry = next(e for e in json.loads(capsys.readouterr().out) if e["name"] == "test-model")
    assert (entry["status"], entry["path"]) == ("installed", str(root / "test-model"))
    assert entry["size_bytes"] == SPEC.approx_size_bytes
    assert main(["models", "verify"]) == 0
    assert "test-model: ok, 3 files" in capsys.readouterr().out

    os.truncate(root / "test-model" / "model.onnx", 100)
    assert main(["models", "verify", "test-model"]) == 1
    out = capsys.readouterr().out
    assert "model.onnx: truncated (100 bytes, expected 10240)" in out
    assert "run  glasses models pull test-model" in out
    assert main(["models", "list"]) == 0
    assert "incomplete" in capsys.readouterr().out
    assert main(["models", "pull", "test-model"]) == 0  # repairs just that file
    assert main(["models", "verify", "--model", str(root / "test-model")]) == 0


def test_cli_errors_are_messages(
    cli: tuple[Path, CopyDownloader], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "pull", "no-such-model"]) == 2
    assert "known: qwen2.5-0.5b-instruct-int4" in capsys.readouterr().err
    assert main(["models", "verify", "test-model"]) == 2  # not pulled yet
    assert "glasses models pull test-model" in capsys.readouterr().err
    assert main(["models", "verify"]) == 0
    assert "no models in" in capsys.readouterr().err


@pytest.mark.parametrize("entry", ["../outside.bin", "sub/../../outside.bin", "/etc/hostname"])
def test_verify_stays_inside_the_model_folder(
    entry: str,
    cli: tuple[Path, CopyDownloader],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A manifest that names a file outside its folder is refused, naming the entry; the file
    outside is never read (it would otherwise be hashed, and `ok` if the digest matched)."""
    root, _ = cli
    assert main(["models", "pull", "test-model"]) == 0
    folder = root / "test-model"
    (root / "outside.bin").write_bytes(b"secret")
    (folder / "sub").mkdir()
    digests = file_digests(folder / entry)  # / with an absolute entry gives the entry
    data = json.loads((folder / MANIFEST_NAME).read_text())
    data["files"].append(
        {"path": entry, "size_bytes": digests.size_bytes, "sha256": digests.sha256, "source": "x"}
    )
    (folder / MANIFEST_NAME).write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["models", "verify", "test-model"]) == 2
    err = capsys.readouterr().err
    assert f"file entry {entry!r} is not inside the model folder" in err
    assert "Traceback" not in err
    with pytest.raises(ManifestError, match="not inside the model folder"):
        read_manifest(folder)
