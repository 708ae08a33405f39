"""The Hugging Face Hub downloader, with the client's network calls replaced (no network)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

import glasses.cli
from glasses.cli import main
from glasses.extras import MissingExtraError, pip_install
from glasses.models.download import DownloadError, FetchRequest, RemoteFile
from glasses.models.hub import HubDownloader

hub = pytest.importorskip("huggingface_hub")
hf_api = pytest.importorskip("huggingface_hub.hf_api")

pytestmark = pytest.mark.fast

PAYLOAD = bytes(range(200)) * 50  # 10 000 bytes


def fake_download(
    repo_id: str, filename: str, revision: str, local_dir: Path, token: Any, tqdm_class: Any
) -> str:
    """Stands in for ``hf_hub_download``: reports progress through ``tqdm_class`` as it does."""
    assert repo_id == "org/repo" and revision == "a" * 40
    target = Path(local_dir) / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    # As after an interrupted run: 3000 bytes were already in the client's .incomplete file.
    bar = tqdm_class(total=len(PAYLOAD), initial=3000, unit="B", desc="x", name="hf")
    bar.update(4000)
    bar.update(3000)
    bar.close()
    target.write_bytes(PAYLOAD)
    return str(target)


def request(tmp_path: Path, path: str = "onnx/model.onnx") -> FetchRequest:
    return FetchRequest("org/repo", "a" * 40, path, len(PAYLOAD), tmp_path / ".download")


def test_fetch_moves_the_file_and_relays_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(hub, "hf_hub_download", fake_download)
    destination = tmp_path / "model.onnx.part"
    done = list(HubDownloader().fetch(request(tmp_path), destination))
    assert done == [3000, 7000, 10000]  # starts at the resumed size
    assert destination.read_bytes() == PAYLOAD
    assert capsys.readouterr().err == ""  # the client's own bar is silenced


def test_fetch_with_a_client_that_takes_no_progress_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def old_client(repo_id: str, filename: str, revision: str, local_dir: Path, token: Any) -> str:
        (Path(local_dir) / filename).parent.mkdir(parents=True, exist_ok=True)
        (Path(local_dir) / filename).write_bytes(PAYLOAD)
        return str(Path(local_dir) / filename)

    monkeypatch.setattr(hub, "hf_hub_download", old_client)
    destination = tmp_path / "model.onnx.part"
    assert list(HubDownloader().fetch(request(tmp_path), destination)) == []
    assert destination.read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (ConnectionError("Name or service not known"), "check the network connection"),
        (hub.errors.EntryNotFoundError("404"), "registry entry may be outdated"),
    ],
)
def test_fetch_errors_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, says: str
) -> None:
    def failing(**kwargs: Any) -> str:
        raise error

    monkeypatch.setattr(hub, "hf_hub_download", failing)
    with pytest.raises(DownloadError, match=says) as caught:
        list(HubDownloader().fetch(request(tmp_path), tmp_path / "x.part"))
    assert "onnx/model.onnx" in str(caught.value) and caught.value.__cause__ is error


def test_describe_reads_lfs_sha256_and_git_blob_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    lfs = {"size": 10, "oid": "b" * 64, "pointerSize": 130}
    entries = [
        hf_api.RepoFile(path="onnx/model.onnx", size=10, oid="c" * 40, lfs=lfs),
        hf_api.RepoFile(path="config.json", size=5, oid="d" * 40),
        hf_api.RepoFolder(path="onnx", oid="e" * 40),
    ]

    class FakeApi:
        def get_paths_info(self, repo: str, paths: list[str], **kwargs: Any) -> list[Any]:
            assert kwargs["revision"] == "a" * 40
            return entries

    monkeypatch.setattr(hub, "HfApi", FakeApi)
    described = HubDownloader().describe("org/repo", "a" * 40, ["onnx/model.onnx", "config.json"])
    assert described == {
        "onnx/model.onnx": RemoteFile("onnx/model.onnx", 10, "b" * 64, None),
        "config.json": RemoteFile("config.json", 5, None, "d" * 40),
    }


def test_missing_client_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import now fails
    with pytest.raises(MissingExtraError, match=re.escape(pip_install("models"))):
        HubDownloader().describe("org/repo", "a" * 40, ["x"])
    monkeypatch.setattr(glasses.cli, "COMMAND_MODULES", ("glasses.commands.models",))
    monkeypatch.setenv("GLASSES_MODELS_DIR", str(tmp_path))
    assert main(["models", "pull", "silero-vad"]) == 2
    assert pip_install("models") in capsys.readouterr().err
    assert not (tmp_path / "silero-vad").exists()  # nothing created before the lookup
