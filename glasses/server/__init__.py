"""``glasses serve``: the local engine behind an OpenAI-compatible HTTP API.

``POST /v1/chat/completions`` (JSON or ``stream: true`` Server-Sent Events) and
``GET /v1/models``, an ASGI application on uvicorn (the ``serve`` extra): one generation at a
time, a small bounded queue, optional bearer-key auth, browser checks (Host, Origin, JSON),
a deadline on each whole request, a connection limit, and cancellation when a client hangs up.

The names below load on first use, so ``glasses --help`` (which reads the server defaults)
does not import the engine.  The wire format both ends speak is :mod:`glasses.openai_wire`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glasses.server.app import ChatServer
    from glasses.server.asgi import ServedEngine
    from glasses.server.config import API_KEY_ENV, ServerConfig

_HOMES = {
    "API_KEY_ENV": "glasses.server.config",
    "ServerConfig": "glasses.server.config",
    "ChatServer": "glasses.server.app",
    "ServedEngine": "glasses.server.asgi",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'glasses.server' has no attribute {name!r}")
    if name == "ChatServer":
        from glasses.extras import require

        require("uvicorn", "serve", purpose="glasses serve")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = ["API_KEY_ENV", "ChatServer", "ServedEngine", "ServerConfig"]
