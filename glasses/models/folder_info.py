"""``info``: what a local model folder is, read from its configs and graph headers only.

Nothing is loaded: LLM folders go through :func:`glasses.models.llm_folder.open_model_folder`
(JSON files) and every ONNX file through :func:`glasses.onnx_wire.scan.scan_onnx`, which walks
the protobuf without touching weights, so ``info`` is instant even on an 800 MB model and
also tells a truncated file from a good one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from glasses.errors import GlassesError
from glasses.models.manifest import MANIFEST_NAME, Manifest, read_manifest
from glasses.models.store import WORK_DIR_NAME

SENSEVOICE_FILES = ("model.int8.onnx", "model.onnx")
MOONSHINE_FILES = (
    "preprocess.onnx",
    "encode.int8.onnx",
    "uncached_decode.int8.onnx",
    "cached_decode.int8.onnx",
)
VAD_FILES = ("silero_vad.onnx",)


@dataclass(frozen=True)
class FolderInfo:
    path: Path
    kind: str  # "llm", "asr", "vad" or "unknown"
    summary: str
    details: tuple[tuple[str, str], ...]
    files: tuple[tuple[str, int], ...]  # (path relative to the folder, size in bytes)
    manifest: Manifest | None
    manifest_status: str
    problems: tuple[str, ...]

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


def _files(folder: Path) -> tuple[tuple[str, int], ...]:
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] == WORK_DIR_NAME or not path.is_file():
            continue
        found.append((rel.as_posix(), path.stat().st_size))
    return tuple(found)


def _guess_kind(folder: Path, manifest: Manifest | None) -> str:
    if manifest is not None:
        return manifest.kind
    if (folder / "genai_config.json").is_file() or (folder / "config.json").is_file():
        return "llm"
    if (folder / "tokens.txt").is_file():
        return "asr"
    if any((folder / name).is_file() for name in VAD_FILES):
        return "vad"
    return "unknown"


def _quantization(ops: frozenset[str], variant: str | None) -> str:
    hint = f" (variant {variant})" if variant else ""
    if "MatMulNBits" in ops:
        return f"block-quantized int4/int8 weights, MatMulNBits{hint}"
    if ops & {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul"}:
        return f"int8 weights{hint}"
    return f"none: float weights{hint}"


def _vlm(folder: Path, variant: str | None) -> tuple[str, list[tuple[str, str]]]:
    from glasses.models.vlm_folder import open_vision_folder
    from glasses.onnx_wire.scan import scan_onnx

    model = open_vision_folder(folder, variant)
    text, image = model.text, model.image
    paths = (model.vision_encoder_path, model.embed_tokens_path, model.decoder_path)
    summaries = [scan_onnx(path) for path in paths]  # each graph's header: truncation shows
    ops = frozenset(op for _, op in summaries[2].ops)
    pixels_per_token = (image.patch_size * image.merge_size) ** 2
    details = [
        ("layout", "onnx-community three graphs (transformers.js vision-language)"),
        ("architecture", text.architecture),
        ("graphs", ", ".join(p.relative_to(folder).as_posix() for p in paths)),
        ("decoder quantization", _quantization(ops, model.variant)),
        ("layers", str(text.num_layers)),
        ("kv heads x head dim", f"{text.num_kv_heads} x {text.head_dim}"),
        ("context", f"{text.context_length} tokens"),
        ("vocabulary", str(text.vocab_size)),
        (
            "pictures",
            f"{image.patch_size}-pixel patches merged {image.merge_size}x{image.merge_size}, "
            f"{image.min_pixels:,}..{image.max_pixels:,} pixels "
            f"(up to {image.max_pixels // pixels_per_token} tokens a picture)",
        ),
    ]
    external = sorted({name for summary in summaries for name in summary.external_files})
    if external:
        details.append(("external weights", ", ".join(external)))
    return f"{text.architecture} vision-language model", details


def _llm(folder: Path, variant: str | None) -> tuple[str, list[tuple[str, str]]]:
    from glasses.models.llm_folder import open_model_folder
    from glasses.models.vlm_folder import is_vision_folder
    from glasses.onnx_wire.scan import scan_onnx

    if is_vision_folder(folder):
        return _vlm(folder, variant)

    candidates = sorted(
        p.stem.removeprefix("model_") for p in (folder / "onnx").glob("model_*.onnx")
    )
    if variant is None and not (folder / "onnx" / "model.onnx").is_file() and len(candidates) == 1:
        variant = candidates[0]  # one quantized file only: that is the model (as pulled)
    model = open_model_folder(folder, variant)
    summary = scan_onnx(model.onnx_path)
    genai = (folder / "genai_config.json").is_file()
    details = [
        ("layout", "onnxruntime-genai" if genai else "Optimum / onnx-community"),
        ("architecture", model.architecture),
        ("decoder", model.onnx_path.relative_to(folder).as_posix()),
        ("quantization", _quantization(frozenset(op for _, op in summary.ops), variant)),
        ("layers", str(model.num_layers)),
        ("kv heads x head dim", f"{model.num_kv_heads} x {model.head_dim}"),
        ("context", f"{model.context_length} tokens"),
        ("vocabulary", str(model.vocab_size)),
    ]
    if summary.external_files:
        details.append(("external weights", ", ".join(sorted(summary.external_files))))
    others = sorted(p.name for p in (folder / "onnx").glob("*.onnx") if p != model.onnx_path)
    if others:
        details.append(("other decoders", ", ".join(others)))
    return f"{model.architecture} language model", details


def _asr(folder: Path) -> tuple[str, list[tuple[str, str]]]:
    tokens = folder / "tokens.txt"
    count = 0
    if tokens.is_file():
        with tokens.open(encoding="utf-8", errors="replace") as lines:
            count = sum(1 for _ in lines)
    details = [("tokens", str(count))]
    if all((folder / name).is_file() for name in MOONSHINE_FILES):
        return "Moonshine speech recognizer (sherpa-onnx)", [("language", "en"), *details]
    model = next((name for name in SENSEVOICE_FILES if (folder / name).is_file()), None)
    if model is not None:
        languages = ("languages", "zh, en, ja, ko, yue (auto-detected)")
        return "SenseVoice speech recognizer (sherpa-onnx)", [("model", model), languages, *details]
    return "speech recognizer (sherpa-onnx, layout not recognised)", details


def _check_onnx(folder: Path, files: tuple[tuple[str, int], ...]) -> list[str]:
    from glasses.onnx_wire.scan import scan_onnx

    problems = []
    for rel, _ in files:
        if rel.endswith(".onnx"):
            try:
                scan_onnx(folder / rel)
            except GlassesError as exc:
                problems.append(str(exc))
    return problems


def _manifest_status(folder: Path, manifest: Manifest | None) -> tuple[str, list[str]]:
    if manifest is None:
        return "none (not pulled by glasses: checksums cannot be verified)", []
    problems = []
    for record in manifest.files:
        path = folder / record.path
        if not path.is_file():
            problems.append(f"{record.path} is missing")
        elif path.stat().st_size != record.size_bytes:
            size = path.stat().st_size
            problems.append(
                f"{record.path} has {size} bytes, the manifest says {record.size_bytes}"
            )
    origin = f"{manifest.name} from {manifest.repo}@{manifest.revision[:12]}, {manifest.pulled_at}"
    verdict = "sizes match" if not problems else "DOES NOT MATCH"
    return (
        f"{origin}: {len(manifest.files)} files, {verdict} (checksums: glasses models verify)",
        problems,
    )


def inspect_folder(folder: Path, variant: str | None = None) -> FolderInfo:
    """Describe ``folder``; problems found on the way are reported, not raised."""
    if not folder.is_dir():
        raise GlassesError(f"{folder} is not a folder")
    manifest = read_manifest(folder)
    files = _files(folder)
    kind = _guess_kind(folder, manifest)
    status, problems = _manifest_status(folder, manifest)
    details: list[tuple[str, str]] = []
    summary = "not a model folder glasses recognises"
    try:
        if kind == "llm":
            variant = variant or (manifest.variant if manifest else None)
            summary, details = _llm(folder, variant)
        elif kind == "asr":
            summary, details = _asr(folder)
        elif kind == "vad":
            summary = "Silero voice activity detector"
    except GlassesError as exc:
        problems.append(str(exc))
        summary = f"{kind} model folder with problems"
    if kind != "llm":  # the LLM path scanned its decoder already
        problems.extend(_check_onnx(folder, files))
    if not any(rel != MANIFEST_NAME for rel, _ in files):
        problems.append("the folder holds no model files")
    return FolderInfo(
        folder, kind, summary, tuple(details), files, manifest, status, tuple(problems)
    )
