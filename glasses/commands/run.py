"""``glasses run``: the daemon — captions, translation, reading and the assistant on the glasses.

Settings come from ``--config FILE`` (TOML), a device ``--profile`` under it and ``--set
section.key=value`` overrides on top; the flags below are shortcuts for common ``--set``s.
``--describe-config`` prints every setting with its default. SIGTERM or Ctrl-C stops it.
``glasses mode`` switches the running daemon's mode through a socket next to its status file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from glasses.errors import GlassesError
from glasses.settings import PROFILES, Settings

log = logging.getLogger("glasses.run")

# flag -> setting it overrides; the value is used as given
_SHORTCUTS = {
    "display": "display.url",
    "mode": "modes.start",
    "camera": "camera.source",
    "llm_model": "llm.model",
    "asr_model": "asr.model_dir",
}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run the daemon on the glasses",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    p.add_argument("--profile", choices=PROFILES, help="device profile")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting, e.g. llm.threads=4 (repeatable)",
    )
    p.add_argument("--display", metavar="URL", help="display port (display.url)")
    p.add_argument("--mode", choices=("captions", "translate", "read", "assist"), help="start mode")
    p.add_argument("--audio-file", type=Path, metavar="F", help="play F instead of the microphone")
    p.add_argument("--no-audio", action="store_true", help="do not listen (audio.source=off)")
    p.add_argument("--camera", metavar="SRC", help="camera.source: 0, picamera2, an image, ...")
    p.add_argument("--llm-model", metavar="DIR", help="language model folder or name (llm.model)")
    p.add_argument("--asr-model", metavar="DIR", help="speech model folder or name (asr.model_dir)")
    p.add_argument("--log-json", action="store_true", help="JSON log lines (log.format=json)")
    p.add_argument("--check", action="store_true", help="validate the settings, print, exit")
    p.add_argument(
        "--describe-config", action="store_true", help="print every setting (markdown) and exit"
    )
    p.set_defaults(handler=run)


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """``--set`` items, then the shortcut flags (which win)."""
    items = list(args.overrides)
    items += [
        f"{key}={getattr(args, flag)}" for flag, key in _SHORTCUTS.items() if getattr(args, flag)
    ]
    if args.audio_file is not None:
        items.append(f"audio.source=file:{args.audio_file}")
    if args.no_audio:
        items.append("audio.source=off")
    if args.log_json:
        items.append("log.format=json")
    return items


def describe_markdown() -> str:
    from glasses.settings import describe

    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{key}` | `{default}` | {doc} |" for key, default, doc in describe()]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from glasses.settings import load_settings

    if args.describe_config:
        sys.stdout.write(describe_markdown())
        return 0
    settings = load_settings(args.config, args.profile, overrides_from_args(args))
    if args.check:
        import dataclasses
        import json

        problems, notes = check_model_folders(settings)
        for note in notes:
            print(f"glasses: note: {note}", file=sys.stderr)
        if problems:
            raise GlassesError("\n  ".join(["the models configured cannot be loaded:", *problems]))
        print(json.dumps(dataclasses.asdict(settings), indent=1))
        return 0
    from glasses.runtime.daemon import Daemon
    from glasses.runtime.logs import configure_logging
    from glasses.runtime.parts import build_parts
    from glasses.runtime.status import default_status_path

    configure_logging(settings.log.level, settings.log.format, getattr(args, "verbose", 0))
    parts = build_parts(settings)  # logs what is missing, and how to get it
    status = Path(settings.log.status_file) if settings.log.status_file else default_status_path()
    from glasses.runtime.control_socket import control_socket_path

    daemon = Daemon(settings, parts, status_path=status)
    control = control_socket_path(status)
    print(f"glasses: running on {settings.display.url}; status in {status}", file=sys.stderr)
    try:
        asyncio.run(_serve(daemon, control))
    except GlassesError:
        raise
    except Exception as exc:  # a bug: the traceback goes to the log, the user gets one line
        log.exception("the daemon failed")
        raise GlassesError(f"the daemon failed: {exc!r}") from exc
    return 0


def check_model_folders(settings: Settings) -> tuple[list[str], list[str]]:
    """``(problems, notes)`` of the model folders the daemon would load, read as
    ``glasses models info`` reads them: configs and graph headers, no weights.

    A problem is a folder that is configured but cannot be loaded (missing, empty, incomplete,
    a truncated file); a note is a default model that was not pulled (the daemon runs without
    it, as it says at start).
    """
    from glasses.settings import LlmSettings

    problems: list[str] = []
    notes: list[str] = []
    llm = settings.llm.model
    if llm:
        try:
            _check_llm_folder(llm, settings.llm.variant)
        except (GlassesError, ImportError, OSError) as exc:
            from glasses.models.store import ModelNotFoundError

            if llm == LlmSettings().model and isinstance(exc, ModelNotFoundError | ImportError):
                notes.append(f"llm.model: {exc} (the daemon runs without a local model)")
            else:
                problems.append(f"llm.model {llm!r}: {exc}")
    if settings.audio.source != "off":
        from glasses.perception.asr.loading import MODEL_ENV

        key = "asr.model_dir" if settings.asr.model_dir else f"${MODEL_ENV}"
        try:
            _check_asr_folder(settings.asr.model_dir)
        except (GlassesError, ImportError, OSError) as exc:
            problems.append(f"{key}: {exc}")
    if settings.look.model:  # loaded beside the text model whenever it is set
        try:
            _check_vision_folder(settings.look.model)
        except (GlassesError, ImportError, OSError) as exc:
            problems.append(f"look.model {settings.look.model!r}: {exc}")
    return problems, notes


def _check_llm_folder(name: str, variant: str) -> None:
    from glasses.models.llm_folder import open_model_folder
    from glasses.models.manifest import pulled_variant
    from glasses.models.store import resolve_model_dir
    from glasses.onnx_wire.scan import scan_onnx

    folder = resolve_model_dir(name)
    scan_onnx(open_model_folder(folder, variant or pulled_variant(folder)).onnx_path)


def _check_vision_folder(name: str) -> None:
    from glasses.models.manifest import pulled_variant
    from glasses.models.store import resolve_model_dir
    from glasses.models.vlm_folder import open_vision_folder
    from glasses.onnx_wire.scan import scan_onnx

    folder = resolve_model_dir(name)
    model = open_vision_folder(folder, pulled_variant(folder))
    for graph in (model.decoder_path, model.vision_encoder_path, model.embed_tokens_path):
        scan_onnx(graph)


def _check_asr_folder(model_dir: str) -> None:
    from glasses.models.store import resolve_model_dir
    from glasses.onnx_wire.scan import scan_onnx
    from glasses.perception.asr.folders import inspect_folder
    from glasses.perception.asr.loading import default_model_dir

    root = resolve_model_dir(model_dir) if model_dir else default_model_dir()
    if root is None:  # none configured, none pulled: captions show speech activity only
        return
    for part in inspect_folder(root).parts.values():
        scan_onnx(part)


async def _serve(daemon: Any, control_path: Path) -> None:
    from glasses.runtime.control_socket import ControlServer, DaemonControls

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # `glasses mode` talks to this socket; it feeds the same control queue as the buttons.
    server: ControlServer | None = None
    try:
        server = await ControlServer(control_path, DaemonControls(daemon, daemon.clock)).start()
    except OSError as exc:  # a convenience, like the status file: the glasses work without it
        log.warning("no control socket at %s (`glasses mode` will not work): %s", control_path, exc)
        server = None
    try:
        await daemon.run(stop)
    finally:
        if server is not None:
            await server.close()
