"""``glasses serve``: the local model as an OpenAI-compatible API (``/v1/chat/completions``).

Any OpenAI client can use it, e.g. ``OpenAI(base_url="http://127.0.0.1:8000/v1",
api_key=KEY)``; so can another glasses device, as its remote model.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from typing import Any

from glasses.errors import GlassesError

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    from glasses.server.config import API_KEY_ENV, ServerConfig

    defaults = ServerConfig()
    parser = subparsers.add_parser(
        "serve", help="serve the local model over an OpenAI-compatible API", description=__doc__
    )
    parser.add_argument("--model", required=True, metavar="DIR", help="model folder or name")
    parser.add_argument("--variant", metavar="NAME", help="Optimum file variant, e.g. q4")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0 = auto)")
    parser.add_argument("--context", type=int, default=2048, metavar="TOKENS")
    parser.add_argument(
        "--host",
        default=defaults.host,
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: everyone)",
    )
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"require this bearer key (default: ${API_KEY_ENV}; unset = no auth). "
        f"Prefer the variable: arguments show up in ps",
    )
    parser.add_argument(
        "--model-id", default=defaults.model_id, help="model name reported to clients"
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=defaults.max_queue,
        metavar="N",
        help="requests that may wait while one generates; more get 503",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=defaults.max_connections,
        metavar="N",
        help=f"open connections allowed; more are closed at once (default {defaults.max_connections})",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=defaults.request_timeout_s,
        metavar="S",
        help="seconds in which a whole request (headers and body) must arrive "
        f"(default {defaults.request_timeout_s:g})",
    )
    parser.set_defaults(handler=run)


def server_config(args: argparse.Namespace) -> Any:
    from glasses.server.config import API_KEY_ENV, ServerConfig

    key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    try:
        return ServerConfig(
            host=args.host,
            port=args.port,
            api_key=key,
            model_id=args.model_id,
            max_queue=args.max_queue,
            max_connections=args.max_connections,
            request_timeout_s=args.request_timeout,
        )
    except ValueError as exc:
        raise GlassesError(f"bad server settings: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    from glasses.commands.llm import load_engine
    from glasses.extras import ExtraImportError

    try:  # before the model loads: a missing extra should not cost a minute
        from glasses.server import ChatServer
    except ExtraImportError as exc:
        raise GlassesError(str(exc)) from exc

    config = server_config(args)
    if config.api_key is None and not config.loopback_only:
        log.warning(
            "listening on %s without an API key: anyone on the network can use it", args.host
        )
    engine = load_engine(args)
    try:
        server = ChatServer(engine, config)
    except OSError as exc:
        raise GlassesError(f"cannot listen on {config.host}:{config.port}: {exc}") from exc
    auth = "key required" if config.api_key else "no auth"
    print(f"glasses: serving {config.model_id} at {server.base_url} ({auth})", file=sys.stderr)

    def stop(signum: int, frame: Any) -> None:
        # uvicorn catches SIGTERM (systemd's stop), shuts down, then raises it again: end
        # like Ctrl-C does.
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if main_thread else None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        server.close()
    return 0
