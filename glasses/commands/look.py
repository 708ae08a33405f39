"""``glasses look IMAGE | --camera N``: ask a vision-language model what a picture shows."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from glasses.commands.llm import finite_float, int_in, model_folder_of
from glasses.commands.picture_source import add_picture_source, camera_still
from glasses.errors import GlassesError
from glasses.settings import LookSettings

DEFAULT_MODEL = "qwen2-vl-2b-instruct-int4"
DEFAULT_PROMPT = "What is this? Answer in one short sentence."
PULL_HINT = f"glasses models pull {DEFAULT_MODEL}"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "look",
        help="ask a vision-language model what an image or a camera shows",
        description="Show a picture to a vision-language model (Qwen2-VL, onnx-community's "
        "three-graph layout) and print its answer as it streams.  With --camera, waits for "
        "a still, sharp frame first, as the glasses' LOOK does.",
    )
    add_picture_source(
        parser, "image file (JPEG, PNG, ...)", timeout_type=finite_float(0.0, above=True)
    )
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="the question about it")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="DIR",
        help=f"vision-language model folder or pulled name (default {DEFAULT_MODEL})",
    )
    budget = LookSettings().max_pixels  # LOOK's own default, so the two cannot drift apart
    parser.add_argument(
        "--max-pixels",
        type=int_in(3136),
        default=budget,
        metavar="N",
        help=f"pixel budget of the picture (default {budget}, the look.max_pixels setting's "
        f"default: at most {budget // (28 * 28)} picture tokens)",
    )
    parser.add_argument("--max-new-tokens", type=int_in(1, 4096), default=64, metavar="N")
    parser.add_argument(
        "--threads", type=int_in(0, 256), default=0, metavar="N", help="intra-op threads (0 = auto)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the answer, picture and timings as JSON"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from glasses.extras import ExtraImportError

    try:
        # The picture first: a wrong path is reported without loading the model.
        jpeg = _camera_jpeg(args) if args.camera is not None else _file_bytes(args.image)
        engine = _load(args)
        return _answer(args, engine, jpeg)
    except ExtraImportError as exc:  # an ImportError, which the CLI would not report
        raise GlassesError(str(exc)) from exc


def _file_bytes(image: str) -> bytes:
    path = Path(image).expanduser()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise GlassesError(f"no image at {path}: give a JPEG or PNG file") from None
    except OSError as exc:
        raise GlassesError(f"cannot read the image {path}: {exc}") from exc


def _camera_jpeg(args: argparse.Namespace) -> bytes:
    from glasses.sources.jpeg import encode_jpeg

    return encode_jpeg(camera_still(args.camera, args.timeout).frame.image).data


def _load(args: argparse.Namespace) -> Any:
    from glasses.llm import EngineConfig, SessionConfig
    from glasses.llm.vision import VisionConfig, VisionLlmEngine
    from glasses.models.vlm_folder import is_vision_folder

    folder, variant = model_folder_of(args.model, None)
    if not is_vision_folder(folder):
        raise GlassesError(
            f"{folder} is a text-only model and cannot look at pictures: give a "
            f"vision-language model with --model (get one: {PULL_HINT})"
        )
    config = EngineConfig(session=SessionConfig(intra_op_threads=args.threads), variant=variant)
    if variant is None:
        from glasses.models.manifest import pulled_variant

        config = EngineConfig(session=config.session, variant=pulled_variant(folder))
    return VisionLlmEngine.load(folder, config, VisionConfig(max_pixels=args.max_pixels))


def _answer(args: argparse.Namespace, engine: Any, jpeg: bytes) -> int:
    from glasses.llm import ChatMessage, GenerationOptions, SamplingConfig
    from glasses.llm.vision import ImageError

    messages = [ChatMessage("user", args.prompt, images=(jpeg,))]
    started = time.perf_counter()
    try:
        prompt = engine.render(messages)
    except ImageError as exc:
        raise GlassesError(f"{args.image or 'the camera frame'}: {exc}") from exc
    prepared_s = time.perf_counter() - started
    options = GenerationOptions(args.max_new_tokens, SamplingConfig(greedy=True))
    stream = engine.stream_prompt(prompt, options)
    try:
        for delta in stream:
            if not args.json:
                print(delta, end="", flush=True)
    finally:
        stream.close()
    result = stream.result
    if not args.json:
        print()
        return 0
    t, image = result.timings, prompt.images[0]
    if t is None:  # the engine always times a finished stream
        raise GlassesError("the engine gave no timings")
    print(
        json.dumps(
            {
                "text": result.text,
                "prompt": args.prompt,
                "picture": {"bytes": len(jpeg), "grid_thw": list(image.grid_thw)},
                "picture_tokens": image.num_tokens,
                "finish_reason": result.finish_reason,
                "timings": {
                    "prepare_s": round(prepared_s, 4),
                    "time_to_first_token_s": round(prepared_s + t.time_to_first_token_s, 4),
                    "prefill_s": round(t.prefill_s, 4),
                    "decode_s": round(t.decode_s, 4),
                    "prompt_tokens": t.prompt_tokens,
                    "generated_tokens": t.generated_tokens,
                },
            },
            ensure_ascii=False,
            indent=2,
        ),
        file=sys.stdout,
    )
    return 0
