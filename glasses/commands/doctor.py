"""``glasses doctor``: check fonts, models, the display port, microphones, cameras, the CPU
and ONNX Runtime, and what each model runs on (the ``providers`` settings of ``--config`` and
``--profile``, else of the installed /etc/glasses/glasses.toml, against this machine), and say
how to fix what is missing.  Exits 1 if any check FAILs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from glasses.settings import PROFILES

INSTALLED_CONFIG = Path("/etc/glasses/glasses.toml")  # written by scripts/install.sh


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check that this machine has what glasses needs", description=__doc__
    )
    parser.add_argument("--model", metavar="DIR", help="LLM model folder or name to check")
    parser.add_argument("--asr-model", type=Path, metavar="DIR", help="speech model folder")
    parser.add_argument("--vad-model", type=Path, metavar="FILE", help="silero_vad.onnx")
    parser.add_argument(
        "--display", metavar="URL", help="display link to try (/dev/ttyACM0, socket://H:P)"
    )
    parser.add_argument("--baud", type=int, default=921600)
    parser.add_argument("--remote", metavar="URL", help="remote model API to probe (…/v1)")
    parser.add_argument(
        "--no-probe", action="store_true", help="do not open the display port or cameras"
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"settings to check (default: {INSTALLED_CONFIG})",
    )
    parser.add_argument("--profile", choices=PROFILES, help="device profile")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from glasses.doctor import DoctorOptions, exit_code, gather, render_table, run_checks, to_json
    from glasses.settings import load_settings

    config = args.config
    if config is None and args.profile is None and INSTALLED_CONFIG.is_file():
        config = INSTALLED_CONFIG
    s = load_settings(config, args.profile)
    # The settings' display port (the installed file's, on the glasses' computer) unless one is
    # given: the serial port check then judges the port the daemon will open.
    from_settings = args.display is None and (config is not None or args.profile is not None)
    options = DoctorOptions(
        llm_model=args.model,
        asr_model=args.asr_model,
        vad_model=args.vad_model,
        display=s.display.url if from_settings else args.display,
        baud=s.display.baud if from_settings else args.baud,
        remote=args.remote,
        probe_devices=not args.no_probe,
        providers={"llm": s.llm.providers, "ocr": s.ocr.providers, "asr": s.asr.providers},
    )
    checks = run_checks(gather(options))
    print(to_json(checks) if args.json else render_table(checks))
    return exit_code(checks)
