"""Which kind of sherpa-onnx speech model a folder holds, and which file plays which part.

The kinds are told apart by their files, as sherpa-onnx publishes them:

* SenseVoice: ``model.int8.onnx`` (or ``model.onnx``) and ``tokens.txt``;
* Moonshine: ``preprocess.onnx``, ``encode``, ``uncached_decode`` and ``cached_decode``
  (``.int8.onnx`` or ``.onnx``) and ``tokens.txt``;
* a streaming transducer (zipformer): ``encoder*.onnx``, ``decoder*.onnx``, ``joiner*.onnx``
  and ``tokens.txt``.

Where a part comes both quantised and not, the ``.int8.onnx`` file is used: a quarter of the
memory and faster on a Pi's CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from glasses.errors import GlassesError

AsrKind = Literal["sensevoice", "moonshine", "transducer"]

PULL_HINT: Final = "glasses models pull sensevoice"
TOKENS: Final = "tokens.txt"

# part -> the glob patterns that may hold it, best first
_PARTS: Final[dict[AsrKind, dict[str, tuple[str, ...]]]] = {
    "moonshine": {
        "preprocessor": ("preprocess.onnx",),
        "encoder": ("encode.int8.onnx", "encode.onnx"),
        "uncached_decoder": ("uncached_decode.int8.onnx", "uncached_decode.onnx"),
        "cached_decoder": ("cached_decode.int8.onnx", "cached_decode.onnx"),
    },
    "transducer": {
        "encoder": ("encoder*.int8.onnx", "encoder*.onnx"),
        "decoder": ("decoder*.int8.onnx", "decoder*.onnx"),
        "joiner": ("joiner*.int8.onnx", "joiner*.onnx"),
    },
    "sensevoice": {"model": ("model.int8.onnx", "model.onnx")},
}
_DESCRIBE: Final[dict[AsrKind, str]] = {
    "sensevoice": "SenseVoice (model.int8.onnx)",
    "moonshine": "Moonshine (preprocess.onnx, encode / uncached_decode / cached_decode .onnx)",
    "transducer": "a streaming transducer (encoder*.onnx, decoder*.onnx, joiner*.onnx)",
}


@dataclass(frozen=True)
class AsrFolder:
    kind: AsrKind
    root: Path
    parts: Mapping[str, Path]
    """Part name (as sherpa-onnx calls it: ``encoder``, ``joiner``...) -> file."""
    tokens: Path

    @property
    def main_file(self) -> Path:
        """The file that stands for the model (shown by ``glasses doctor``)."""
        return self.parts["model" if self.kind == "sensevoice" else "encoder"]


def _pick(root: Path, patterns: tuple[str, ...]) -> Path | None:
    for pattern in patterns:
        found = sorted(p for p in root.glob(pattern) if p.is_file())
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise GlassesError(
                f"{root} holds several files that could be the same model part ({names}); "
                "keep one of them"
            )
        if found:
            return found[0]
    return None


def inspect_folder(root: Path) -> AsrFolder:
    """The model in ``root``, or an error naming what is missing and how to get a model."""
    if not root.is_dir():
        raise GlassesError(f"speech model folder not found: {root} (run: {PULL_HINT})")
    partial: list[str] = []
    for kind, wanted in _PARTS.items():
        found = {part: _pick(root, patterns) for part, patterns in wanted.items()}
        if not any(found.values()):
            continue
        missing = [" / ".join(wanted[p]) for p, path in found.items() if path is None]
        tokens = root / TOKENS
        if not tokens.is_file():
            missing.append(TOKENS)
        if not missing:
            return AsrFolder(kind, root, {p: f for p, f in found.items() if f}, tokens)
        partial.append(f"{_DESCRIBE[kind]} without {' and '.join(missing)}")
    if partial:
        raise GlassesError(
            f"{root} is an incomplete speech model: {'; '.join(partial)} "
            f"(download it again: {PULL_HINT}, or the model's own name)"
        )
    kinds = "; ".join(_DESCRIBE.values())
    raise GlassesError(
        f"{root} is not a speech model folder: it holds none of {kinds} (run: {PULL_HINT})"
    )


def token_ids(tokens: Path) -> set[int]:
    """The ids in a sherpa-onnx ``tokens.txt`` (``piece id`` per line)."""
    try:
        with tokens.open(encoding="utf-8") as f:
            return {int(line.split()[-1]) for line in f if line.split()}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise GlassesError(f"cannot read {tokens}: not a sherpa-onnx tokens.txt ({exc})") from exc


def check_tokens_cover(tokens: Path, vocab_size: int, model: Path, hint: str = PULL_HINT) -> None:
    """sherpa-onnx fails mid-decode when the model emits an id ``tokens.txt`` lacks."""
    ids = token_ids(tokens)
    absent = sum(1 for i in range(vocab_size) if i not in ids)
    if absent:
        raise GlassesError(
            f"{tokens} does not belong to {model}: the model has {vocab_size} tokens, "
            f"{absent} of them are not in tokens.txt ({hint})"
        )
