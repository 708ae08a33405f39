"""``glasses llm generate|chat``: run the local LLM engine from the command line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glasses.errors import GlassesError

if TYPE_CHECKING:  # the engine (numpy, onnxruntime) is imported only when a command runs
    from glasses.llm import GenerationOptions, GenerationResult, LlmEngine


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("llm", help="run the local language model", description=__doc__)
    sub = parser.add_subparsers(dest="llm_command", required=True, metavar="ACTION")

    gen = sub.add_parser("generate", help="answer one prompt and exit")
    _model_arguments(gen)
    gen.add_argument("--prompt", required=True, help="the user message; '-' reads stdin")
    gen.add_argument(
        "--json",
        action="store_true",
        help="print text, token ids, finish reason and timings as JSON",
    )
    gen.set_defaults(handler=run_generate)

    chat = sub.add_parser("chat", help="interactive chat (streaming; /reset, /exit)")
    _model_arguments(chat)
    chat.set_defaults(handler=run_chat)


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``; the message says which."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            wanted = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {value}")
        return value

    return parse


def finite_float(minimum: float | None = None, *, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number (no nan or inf), at least (or ``above``) ``minimum``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if minimum is not None and (value <= minimum if above else value < minimum):
            wanted = f"more than {minimum:g}" if above else f"{minimum:g} or more"
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {value:g}")
        return value

    return parse


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        metavar="DIR",
        help="model folder (Optimum or onnxruntime-genai layout) or model name",
    )
    parser.add_argument(
        "--variant", metavar="NAME", help="Optimum file variant, e.g. q4 for onnx/model_q4.onnx"
    )
    parser.add_argument("--system", default="", metavar="S", help="system prompt")
    parser.add_argument("--max-new-tokens", type=int_in(1), default=256, metavar="N")
    parser.add_argument("--greedy", action="store_true", help="argmax decoding")
    parser.add_argument("--temperature", type=finite_float(0.0), metavar="T")
    parser.add_argument("--top-k", type=int_in(0), metavar="K")
    parser.add_argument("--top-p", type=finite_float(), metavar="P")
    parser.add_argument("--repetition-penalty", type=finite_float(), metavar="R")
    parser.add_argument("--seed", type=int, help="random seed for sampling")
    parser.add_argument(
        "--stop",
        action="append",
        default=[],
        metavar="TEXT",
        help="stop before this text (repeatable)",
    )
    parser.add_argument(
        "--timeout",
        type=finite_float(0.0, above=True),
        metavar="S",
        help="give up after S seconds (the text so far is printed, the exit status is 1)",
    )
    parser.add_argument("--think", action="store_true", help="Qwen3: allow a <think> block")
    parser.add_argument(
        "--threads", type=int_in(0, 256), default=0, metavar="N", help="intra-op threads (0 = auto)"
    )
    parser.add_argument(
        "--context",
        type=int_in(16, 1 << 20),
        default=2048,
        metavar="TOKENS",
        help="cap on the context (KV cache memory), default 2048; "
        "the model's own context caps it too",
    )


def load_engine(args: argparse.Namespace) -> LlmEngine:
    from glasses.extras import ExtraImportError

    try:
        from dataclasses import replace

        from glasses.llm import EngineConfig, SessionConfig
        from glasses.llm.vision import load_engine as engine_for_folder

        config = EngineConfig(
            session=SessionConfig(intra_op_threads=args.threads),
            variant=args.variant,
            max_context_tokens=args.context,
        )
        folder, variant = model_folder_of(args.model, args.variant)
        if variant != args.variant:
            config = replace(config, variant=variant)
        return engine_for_folder(folder, config)  # a vision-language folder chats in text too
    except ExtraImportError as exc:  # an ImportError, which the CLI would not report
        raise GlassesError(str(exc)) from exc


def model_folder_of(given: str, variant: str | None) -> tuple[Path, str | None]:
    """The folder (and file variant) of ``--model``: a folder, a name, or an ``.onnx`` file
    inside a model folder (``onnx/model_q4.onnx`` means the folder above, variant q4)."""
    from glasses.models.llm_folder import open_model_folder
    from glasses.models.store import resolve_model_dir

    path = Path(given).expanduser()
    if not path.is_file():
        return resolve_model_dir(given), variant
    holder = path.parent
    root = holder.parent if holder.name == "onnx" else holder
    give_folder = f"--model takes a model folder, not a file: give the folder that holds it: {root}"
    if not ((root / "genai_config.json").is_file() or (root / "config.json").is_file()):
        raise GlassesError(give_folder)
    implied = variant
    if not (root / "genai_config.json").is_file() and path.name.startswith("model_"):
        implied = path.stem.removeprefix("model_")  # Optimum: onnx/model_q4.onnx is variant q4
        if variant is not None and variant != implied:
            raise GlassesError(f"{give_folder} (--variant {variant} names another file)")
    try:
        chosen = open_model_folder(root, implied).onnx_path
    except GlassesError as exc:
        raise GlassesError(f"{give_folder} ({exc})") from exc
    if chosen.resolve() != path.resolve():
        raise GlassesError(f"{give_folder} ({path.name} is not the decoder it names)")
    return root, implied


def generation_options(args: argparse.Namespace, engine: LlmEngine) -> GenerationOptions:
    from dataclasses import replace

    from glasses.llm import GenerationOptions

    overrides = {
        k: v
        for k, v in (
            ("temperature", args.temperature),
            ("top_k", args.top_k),
            ("top_p", args.top_p),
            ("seed", args.seed),
            ("repetition_penalty", args.repetition_penalty),
        )
        if v is not None
    }
    if overrides:
        overrides["greedy"] = False
    if args.greedy:
        overrides["greedy"] = True
    try:
        sampling = replace(engine.default_sampling, **overrides)
    except ValueError as exc:
        raise GlassesError(f"bad sampling settings: {exc}") from exc
    return GenerationOptions(
        max_new_tokens=args.max_new_tokens,
        sampling=sampling,
        stop_strings=tuple(args.stop),
        timeout_s=args.timeout,
        enable_thinking=args.think,
    )


def _messages(system: str, turns: list[tuple[str, str]]) -> list[Any]:
    from glasses.llm import ChatMessage

    messages = [ChatMessage("system", system)] if system else []
    for role, text in turns:
        messages.append(ChatMessage("user" if role == "user" else "assistant", text))
    return messages


def run_generate(args: argparse.Namespace) -> int:
    engine = load_engine(args)
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    stream = engine.stream(
        _messages(args.system, [("user", prompt)]), generation_options(args, engine)
    )
    for delta in stream:
        if not args.json:
            sys.stdout.write(delta)
            sys.stdout.flush()
    if args.json:
        print(json.dumps(result_json(stream.result, engine), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write("\n")
    if stream.result.finish_reason == "deadline":
        sys.stdout.flush()
        print(timed_out_message(args.timeout, stream.result), file=sys.stderr)
        return 1
    return 0


def timed_out_message(timeout_s: float, result: GenerationResult) -> str:
    done = len(result.token_ids)
    if result.text:
        what = f"the answer is cut off after {done} tokens (the text above is partial)"
    else:
        what = "no text was generated"
    return f"glasses: error: timed out after {timeout_s:g} s (--timeout): {what}; give more time"


def result_json(result: GenerationResult, engine: LlmEngine) -> dict[str, Any]:
    timings = result.timings
    out: dict[str, Any] = {
        "text": result.text,
        "token_ids": result.token_ids,
        "finish_reason": result.finish_reason,
        # JSON types as they are (numbers, booleans); only the path becomes text.
        "model": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(engine.info).items()},
    }
    if timings is not None:
        out["timings"] = {
            **asdict(timings),
            "prefill_tokens_per_s": round(timings.prefill_tokens_per_s, 2),
            "decode_tokens_per_s": round(timings.decode_tokens_per_s, 2),
        }
    return out


def run_chat(args: argparse.Namespace) -> int:
    from glasses.llm import CancelToken, ContextOverflowError

    engine = load_engine(args)
    options = generation_options(args, engine)
    turns: list[tuple[str, str]] = []
    print(f"{engine.info.architecture} ({engine.info.layout}) ready; /reset clears, /exit quits.")
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if line in ("/exit", "/quit"):
            return 0
        if line == "/reset":
            turns.clear()
            continue
        if not line:
            continue
        turns.append(("user", line))
        cancel = CancelToken()
        while True:  # drop the oldest exchanges until the history fits the context
            try:
                stream = engine.stream(_messages(args.system, turns), options, cancel)
                break
            except ContextOverflowError:
                if len(turns) <= 1:
                    turns.clear()
                    raise
                del turns[:2]
        sys.stdout.write("glasses> ")
        try:
            for delta in stream:
                sys.stdout.write(delta)
                sys.stdout.flush()
        except KeyboardInterrupt:  # Ctrl-C stops this answer, not the chat
            cancel.cancel()
            stream.close()
            sys.stdout.write(" [stopped]")
        if stream.result.finish_reason == "deadline":
            sys.stdout.write(f" [timed out after {args.timeout:g} s: cut off]")
        sys.stdout.write("\n")
        turns.append(("assistant", stream.result.text))
