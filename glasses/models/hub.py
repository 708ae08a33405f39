"""The real :class:`~glasses.models.download.Downloader`: the Hugging Face Hub client.

``huggingface_hub`` is imported on first use, through :func:`glasses.extras.require`, so
``glasses models list``, ``verify`` and ``info`` work without it.  Files are fetched with
``hf_hub_download`` into the pull's scratch folder, where the client keeps its own resumable
``.incomplete`` files between runs, and then moved to the destination.  Its progress bar is
replaced by one that reports byte counts to us, so the CLI draws a single progress line.
"""

from __future__ import annotations

import inspect
import os
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from glasses.extras import require
from glasses.models.download import DownloadError, FetchRequest, RemoteFile

# Errors that mean the pinned repository, commit or file is not there: retrying cannot help.
_GONE = frozenset(
    {"RepositoryNotFoundError", "GatedRepoError", "RevisionNotFoundError", "EntryNotFoundError"}
)
_NETWORK_HINT = (
    "check the network connection (or $HF_ENDPOINT for a mirror) and run the command again; "
    "finished files are kept and a partial download resumes"
)


DEFAULT_ENDPOINT: Final = "https://huggingface.co"


def hub_endpoint() -> str:
    """Where the Hub client goes: ``$HF_ENDPOINT`` (a mirror), else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT).rstrip("/")


def unreachable_reason(timeout_s: float = 5.0) -> str | None:
    """None when the Hub answers at all (any HTTP status), else why not, in a few words.

    A quick look before a long pull, without ``huggingface_hub``; proxies are honoured.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE"):
        return "HF_HUB_OFFLINE is set"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(hub_endpoint() + "/", method="HEAD"), timeout=timeout_s
        ):
            return None
    except urllib.error.HTTPError:
        return None  # an answer, even an error status: the server is there
    except (OSError, ValueError) as exc:  # URLError, refused, timed out; ValueError: bad URL
        return str(getattr(exc, "reason", None) or exc)


def _hub() -> ModuleType:
    return require("huggingface_hub", "models", purpose="downloading models")


def _explain(exc: BaseException, what: str) -> DownloadError:
    if type(exc).__name__ in _GONE:
        return DownloadError(
            f"{what}: not found on the Hub ({exc}); the registry entry may be outdated"
        )
    return DownloadError(f"{what} failed: {exc}; {_NETWORK_HINT}")


def _reporting_bar(hub: ModuleType, report: Callable[[int], None]) -> type[Any]:
    """A tqdm class for ``hf_hub_download``'s ``tqdm_class`` that draws nothing and reports
    how many bytes are done.  A subclass of the client's own tqdm (``huggingface_hub.utils``),
    defined here because that module is imported only when a download starts."""

    class ReportingBar(hub.utils.tqdm):  # type: ignore[misc,name-defined]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # a disabled tqdm still tracks n and total, prints nothing
            super().__init__(*args, **kwargs)
            report(int(self.n or 0))

        def update(self, n: float | None = 1) -> bool | None:
            self.n += n or 0  # tqdm's own update returns early when disabled
            report(int(self.n))
            return None

    return ReportingBar


class HubDownloader:
    """Fetches files with ``huggingface_hub``; also a :class:`RemoteCatalog`."""

    def __init__(self, token: str | bool | None = None) -> None:
        self.token = token  # None: the client's usual token lookup (public repos need none)

    def describe(self, repo: str, revision: str, paths: Sequence[str]) -> Mapping[str, RemoteFile]:
        hub = _hub()
        try:
            entries = hub.HfApi().get_paths_info(
                repo, list(paths), revision=revision, token=self.token
            )
        except Exception as exc:  # the client raises many types: HTTP, offline mode, OS errors
            raise _explain(
                exc, f"looking up {repo}@{revision[:12]} on the Hugging Face Hub"
            ) from exc
        described: dict[str, RemoteFile] = {}
        for entry in entries:
            size = getattr(entry, "size", None)
            if size is None:  # a folder
                continue
            lfs = getattr(entry, "lfs", None)
            described[str(entry.path)] = RemoteFile(
                path=str(entry.path),
                size_bytes=int(size),
                sha256=str(lfs.sha256) if lfs is not None else None,
                # For LFS files the blob id is that of the pointer file, not of the content.
                git_sha1=None if lfs is not None else getattr(entry, "blob_id", None),
            )
        return described

    def fetch(self, request: FetchRequest, destination: Path) -> Iterator[int]:
        hub = _hub()
        events: queue.SimpleQueue[int | BaseException | None] = queue.SimpleQueue()

        options: dict[str, Any] = {}
        # Older clients have no `tqdm_class` here: they draw their own bar, and we report
        # the file only once it is complete.
        if "tqdm_class" in inspect.signature(hub.hf_hub_download).parameters:
            options["tqdm_class"] = _reporting_bar(hub, events.put)

        def download() -> None:
            try:
                path = hub.hf_hub_download(
                    repo_id=request.repo,
                    filename=request.path,
                    revision=request.revision,
                    local_dir=request.work_dir,
                    token=self.token,
                    **options,
                )
                os.replace(path, destination)
                events.put(None)
            except BaseException as exc:  # handed to the consuming thread, which raises it
                events.put(exc)

        # The client blocks; a worker thread turns its progress callbacks into our iterator.
        # Daemon: Ctrl-C ends the process, and the client's .incomplete file stays to resume.
        threading.Thread(target=download, name="hub-download", daemon=True).start()
        what = f"downloading {request.path} from {request.repo}"
        while True:
            event = events.get()
            if event is None:
                return
            if isinstance(event, BaseException):
                raise _explain(event, what) from event
            yield event
