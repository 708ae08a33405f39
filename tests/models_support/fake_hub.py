"""A local stand-in of the Hugging Face Hub's HTTP API, for pulls without the network.

It answers what ``huggingface_hub`` asks during ``glasses models pull``: the ``paths-info`` call
(sizes, git blob ids, LFS sha256) and ``HEAD`` / ``GET`` of ``/<repo>/resolve/<revision>/<path>``
(``X-Repo-Commit``, ``ETag``, ``X-Linked-Size``, ranges for resumed downloads). Point the
client at it with ``HF_ENDPOINT``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PATHS_INFO = re.compile(r"^/api/models/([^/]+/[^/]+)/paths-info/([^/]+)$")
RESOLVE = re.compile(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
RANGE = re.compile(r"^bytes=(\d+)-$")


class FakeHub:
    """Repositories at one revision each, served from local folders."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], dict[str, bytes]] = {}
        self.requests: list[str] = []  # "METHOD path", in order
        self.url = ""

    def add(self, repo: str, revision: str, files: dict[str, Path]) -> None:
        self.repos[(repo, revision)] = {path: src.read_bytes() for path, src in files.items()}

    def entry(self, path: str, data: bytes) -> dict[str, object]:
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        info: dict[str, object] = {"type": "file", "path": path, "size": len(data), "oid": blob}
        if path.endswith(".onnx"):  # stored with git LFS, as on the Hub
            sha = hashlib.sha256(data).hexdigest()
            info["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
        return info


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str], head: bool) -> None:
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _not_found(self, head: bool = False) -> None:
            self._send(404, b'{"error": "not found"}', {"X-Error-Code": "EntryNotFound"}, head)

        def do_POST(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            hub.requests.append(f"POST {path}")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            match = PATHS_INFO.match(path)
            files = hub.repos.get((match[1], match[2])) if match else None
            if files is None:
                return self._not_found()
            asked = urllib.parse.parse_qs(body).get("paths", [])
            found = [hub.entry(p, files[p]) for p in asked if p in files]
            self._send(200, json.dumps(found).encode(), {"Content-Type": "application/json"}, False)

        def _resolve(self, head: bool) -> None:
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            hub.requests.append(f"{self.command} {path}")
            match = RESOLVE.match(path)
            files = hub.repos.get((match[1], match[2])) if match else None
            if match is None or files is None or match[3] not in files:
                return self._not_found(head)
            data = files[match[3]]
            info = hub.entry(match[3], data)
            lfs = info.get("lfs")
            etag = lfs["oid"] if isinstance(lfs, dict) else info["oid"]
            headers = {"X-Repo-Commit": match[2], "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
            if lfs:
                headers |= {"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))}
            wanted = RANGE.match(self.headers.get("Range", ""))
            if wanted and not head:
                start = int(wanted[1])
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                return self._send(206, data[start:], headers, head)
            self._send(200, data, headers, head)

        def do_HEAD(self) -> None:
            self._resolve(head=True)

        def do_GET(self) -> None:
            self._resolve(head=False)

    return Handler


@contextmanager
def serve(hub: FakeHub) -> Iterator[FakeHub]:
    """Serve ``hub`` on a free local port; ``hub.url`` is its ``HF_ENDPOINT``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-hub", daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
