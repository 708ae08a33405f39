"""``glasses serve``: the local engine behind an OpenAI-compatible HTTP API.

``POST /v1/chat/completions`` (JSON or ``stream: true`` Server-Sent Events) and
``GET /v1/models``, on the standard library's threading HTTP server: one generation at a time,
a small bounded queue, optional bearer-key auth, and cancellation when a client hangs up.

The names below load on first use, so ``glasses --help`` (which reads the server defaults)
does not import the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glasses.server.app import ChatServer, ServedEngine
    from glasses.server.config import API_KEY_ENV, ServerConfig

_HOMES = {
    "API_KEY_ENV": "glasses.server.config",
    "ServerConfig": "glasses.server.config",
    "ChatServer": "glasses.server.app",
    "ServedEngine": "glasses.server.app",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'glasses.server' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = ["API_KEY_ENV", "ChatServer", "ServedEngine", "ServerConfig"]
