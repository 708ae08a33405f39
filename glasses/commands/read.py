"""``glasses read IMAGE | --camera N``: print the text in an image or in front of a camera."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from glasses.commands.picture_source import add_picture_source, camera_still
from glasses.errors import GlassesError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "read",
        help="read the text in an image or in front of a camera",
        description="Recognise text (Chinese and English, PP-OCR) and print it in reading "
        "order, one row per line.  With --camera, waits for a still, sharp frame first; with "
        "--camera and --watch, keeps reading and prints each line the first time it is seen.",
    )
    add_picture_source(parser, "image file (PNG, JPEG, ...)")
    parser.add_argument("--json", action="store_true", help="print lines with boxes and confidence")
    parser.add_argument(
        "--max-side", type=int, default=1280, metavar="PX", help="shrink larger images to PX"
    )
    parser.add_argument(
        "--min-confidence", type=float, default=0.5, metavar="P", help="drop weaker lines"
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="with --camera: read every still, sharp frame until Ctrl-C (or the end of a file) "
        "and print each line once, not again while it stays in view",
    )
    parser.add_argument(
        "--fps",
        type=float,
        metavar="N",
        help="play an image folder at N frames per second (default 5)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from glasses.extras import ExtraImportError
    from glasses.perception.ocr import OcrConfig, OcrEngine

    if args.max_side < 32:
        raise GlassesError(f"--max-side must be at least 32 pixels, got {args.max_side}")
    if args.watch and args.camera is None:
        raise GlassesError("--watch reads from a camera: add --camera N (or a video or folder)")
    if args.fps is not None and args.fps <= 0:
        raise GlassesError(f"--fps must be positive, got {args.fps:g}")
    config = OcrConfig(max_side_px=args.max_side, min_confidence=args.min_confidence)
    try:
        if args.watch:
            from glasses.commands.read_watch import watch

            return watch(args, OcrEngine(config))
        # The image first: a wrong path is reported without loading the OCR models.
        image = _camera_image(args) if args.camera is not None else _file_image(args.image)
        engine = OcrEngine(config)
    except ExtraImportError as exc:  # not installed, or installed but failing to import
        raise GlassesError(str(exc)) from exc
    result = engine.recognize(image)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif result.rows:
        print(result.text)
    if not result.rows:
        print("glasses: no text found", file=sys.stderr)
    return 0


def _file_image(path: str) -> Any:
    from glasses.sources.camera_backends import read_image

    return read_image(path)


def _camera_image(args: argparse.Namespace) -> Any:
    still = camera_still(args.camera, args.timeout, fps=args.fps)
    if not still.chosen:
        print(
            f"glasses: no still frame within {args.timeout:g} s; reading the sharpest of "
            f"{still.frames_seen} frames",
            file=sys.stderr,
        )
    return still.frame.image
