"""``glasses serve``: the local engine behind an OpenAI-compatible HTTP API.

``POST /v1/chat/completions`` (JSON or ``stream: true`` Server-Sent Events) and
``GET /v1/models``, on the standard library's threading HTTP server: one generation at a time,
a small bounded queue, optional bearer-key auth, and cancellation when a client hangs up.
"""

from __future__ import annotations

from glasses.server.app import ChatServer, ServedEngine
from glasses.server.config import API_KEY_ENV, ServerConfig

__all__ = ["API_KEY_ENV", "ChatServer", "ServedEngine", "ServerConfig"]
