"""Settings of ``glasses serve``."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field

API_KEY_ENV = "GLASSES_API_KEY"


@dataclass(frozen=True)
class ServerConfig:
    """How the OpenAI-compatible server listens, whom it admits and how much it accepts."""

    # Loopback by default: the engine is a shared, slow resource, not a public service.
    host: str = "127.0.0.1"
    # 0 picks a free port (tests); ``ChatServer.port`` tells which.
    port: int = 8000
    # Bearer token clients must send; None admits everyone.  Never logged or shown in reprs.
    api_key: str | None = field(default=None, repr=False)
    # The id reported by /v1/models and in every completion; requests may name any model.
    model_id: str = "glasses-local"
    # Requests allowed to wait while one generates; more get 503 at once.
    max_queue: int = 2
    # A waiting request gives up with 503 after this long.
    queue_timeout_s: float = 60.0
    # Larger request bodies get 413 (a long chat history is a few tens of kB).
    max_body_bytes: int = 1 << 20
    # Largest picture (decoded bytes of a data: URL) and most pixels it may have; the body
    # limit bounds the bytes too (base64 is 4/3 of them).
    max_image_bytes: int = 768 * 1024
    max_image_pixels: int = 4096 * 4096
    # max_tokens when the request gives none, and the most a request may ask for.
    default_max_tokens: int = 256
    max_tokens_limit: int = 4096
    # Wall-clock cap on one generation (finish_reason "length" when hit).
    max_generation_s: float = 300.0
    # Open connections beyond this are closed at once (and past uvicorn's limit_concurrency,
    # requests get 503).  An idle or trickling connection costs a few kB on the event loop, not
    # a thread, so the default is far above what the requests themselves need.
    max_connections: int = 512
    # The whole request -- request line, headers and body -- must have arrived within this
    # (counted from the connection's start or the previous answer's end); a client that
    # trickles it is cut off: 408 once the headers are in, a closed connection before that.
    request_timeout_s: float = 10.0
    # Bytes of a request line plus headers (h11's max_incomplete_event_size); larger is 400.
    max_header_bytes: int = 16 * 1024
    # An idle keep-alive connection is closed after this many seconds.
    keep_alive_s: int = 5
    # A client that reads none of its answer for this long is dropped (its generation stops).
    write_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        if self.max_queue < 0 or self.max_connections < 1 or self.max_body_bytes < 1:
            raise ValueError("need max_queue >= 0, max_connections >= 1, max_body_bytes >= 1")
        if not 1 <= self.default_max_tokens <= self.max_tokens_limit:
            raise ValueError("need 1 <= default_max_tokens <= max_tokens_limit")
        for name in ("queue_timeout_s", "max_generation_s", "request_timeout_s", "write_timeout_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value}")
        if self.keep_alive_s < 1 or self.max_header_bytes < 1024:
            raise ValueError("need keep_alive_s >= 1 and max_header_bytes >= 1024")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("the API key is empty")

    @property
    def loopback_only(self) -> bool:
        """True when only this machine can connect (the safe default)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
