"""Find the three graphs of a vision-language model folder and read its configuration.

The layout is onnx-community's / transformers.js's for Qwen2-VL: ``config.json`` (``model_type``
``qwen2_vl``, the text fields at the top level or under ``text_config``, plus
``vision_config``), ``preprocessor_config.json`` (the image processor's settings),
``generation_config.json``, the tokenizer files, and three graphs in ``onnx/``:

* ``vision_encoder[_variant].onnx``: ``pixel_values`` [patches, C*T*P*P] float and ``grid_thw``
  [images, 3] int64 -> ``image_features`` [patches / merge^2, hidden];
* ``embed_tokens[_variant].onnx``: ``input_ids`` -> ``inputs_embeds``;
* ``decoder_model_merged[_variant].onnx``: ``inputs_embeds``, ``attention_mask``,
  ``position_ids`` [3, batch, seq] (M-RoPE), ``past_key_values.N.key/value`` -> ``logits``,
  ``present.N.key/value``.

Part of the model store, below the engine (``glasses models info`` reads these folders too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glasses.model_errors import CorruptModelError, ModelFileError, UnsupportedModelError
from glasses.models.llm_folder import ModelFolder, read_json
from glasses.models.manifest import pulled_variant

VISION_ARCHITECTURES = frozenset({"qwen2_vl"})
GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model_merged")
# Qwen2VLImageProcessor's defaults (CLIP mean/std), used where preprocessor_config.json is silent.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class ImageSettings:
    """Qwen2VLImageProcessor's settings, as ``preprocessor_config.json`` gives them."""

    patch_size: int = 14
    temporal_patch_size: int = 2
    merge_size: int = 2
    min_pixels: int = 56 * 56
    max_pixels: int = 28 * 28 * 1280
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD
    rescale_factor: float = 1 / 255


@dataclass(frozen=True)
class VisionModelFolder:
    text: ModelFolder  # the decoder (``onnx_path``) with its text config and tokenizer
    vision_encoder_path: Path
    embed_tokens_path: Path
    variant: str | None
    hidden_size: int
    image_token_id: int
    vision_start_token_id: int
    image: ImageSettings

    @property
    def root(self) -> Path:
        return self.text.root

    @property
    def decoder_path(self) -> Path:
        return self.text.onnx_path


def is_vision_folder(root: Path) -> bool:
    """Whether ``root``'s config.json describes a vision-language model (nothing is checked)."""
    try:
        config = read_json(root / "config.json")
    except (ModelFileError, CorruptModelError):
        return False
    return str(config.get("model_type")) in VISION_ARCHITECTURES


def _variant(root: Path, variant: str | None) -> str | None:
    if variant is not None:
        return variant
    pulled = pulled_variant(root)
    if pulled is not None or (root / "onnx" / "decoder_model_merged.onnx").is_file():
        return pulled
    found = sorted(
        p.stem.removeprefix("decoder_model_merged_")
        for p in (root / "onnx").glob("decoder_model_merged_*.onnx")
    )
    return found[0] if len(found) == 1 else None  # one variant only: that is the model


def _graph(root: Path, name: str, variant: str | None) -> Path:
    file = f"{name}_{variant}.onnx" if variant else f"{name}.onnx"
    path = root / "onnx" / file
    if path.is_file():
        return path
    present = (
        sorted(p.name for p in (root / "onnx").glob("*.onnx")) if (root / "onnx").is_dir() else []
    )
    hint = f" (present: {', '.join(present)})" if present else ""
    raise ModelFileError(
        f"{root} lacks the {name} graph onnx/{file}{hint}: a vision-language folder needs "
        f"{', '.join(GRAPHS)} in the same variant; pull the model again or pick --variant"
    )


def _int(config: dict[str, Any], key: str, path: Path) -> int:
    if key not in config:
        raise CorruptModelError(f"{path} lacks the field {key!r}")
    return int(config[key])


def _image_settings(root: Path, vision: dict[str, Any]) -> ImageSettings:
    path = root / "preprocessor_config.json"
    pre = read_json(path) if path.is_file() else {}
    size = pre.get("size") if isinstance(pre.get("size"), dict) else {}
    assert isinstance(size, dict)
    defaults = ImageSettings()
    return ImageSettings(
        patch_size=int(pre.get("patch_size") or vision.get("patch_size") or defaults.patch_size),
        temporal_patch_size=int(
            pre.get("temporal_patch_size")
            or vision.get("temporal_patch_size")
            or defaults.temporal_patch_size
        ),
        merge_size=int(
            pre.get("merge_size") or vision.get("spatial_merge_size") or defaults.merge_size
        ),
        min_pixels=int(pre.get("min_pixels") or size.get("shortest_edge") or defaults.min_pixels),
        max_pixels=int(pre.get("max_pixels") or size.get("longest_edge") or defaults.max_pixels),
        image_mean=tuple(float(v) for v in pre.get("image_mean", CLIP_MEAN)),  # type: ignore[arg-type]
        image_std=tuple(float(v) for v in pre.get("image_std", CLIP_STD)),  # type: ignore[arg-type]
        rescale_factor=float(pre.get("rescale_factor", defaults.rescale_factor)),
    )


def open_vision_folder(root: Path | str, variant: str | None = None) -> VisionModelFolder:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ModelFileError(f"model folder {root} does not exist")
    path = root / "config.json"
    config = read_json(path)
    arch = str(config.get("model_type"))
    if arch not in VISION_ARCHITECTURES:
        raise UnsupportedModelError(
            f"{path} describes a {arch!r} model, not a vision-language one; supported: "
            f"{', '.join(sorted(VISION_ARCHITECTURES))}"
        )
    # transformers >= 4.50 nests the text fields under text_config; releases keep them on top.
    text = {**config, **(config.get("text_config") or {})}
    vision = config.get("vision_config") or {}
    if not (root / "tokenizer.json").is_file():
        raise ModelFileError(f"{root} has no tokenizer.json")
    tk_path = root / "tokenizer_config.json"
    gen_path = root / "generation_config.json"
    generation = read_json(gen_path) if gen_path.is_file() else {}
    heads = _int(text, "num_attention_heads", path)
    hidden = _int(text, "hidden_size", path)
    chosen = _variant(root, variant)
    eos = generation.get("eos_token_id", text.get("eos_token_id"))
    folder = ModelFolder(
        root=root,
        onnx_path=_graph(root, "decoder_model_merged", chosen),
        architecture=arch,
        vocab_size=_int(text, "vocab_size", path),
        context_length=_int(text, "max_position_embeddings", path),
        num_layers=_int(text, "num_hidden_layers", path),
        num_kv_heads=int(text.get("num_key_value_heads") or heads),
        head_dim=int(text.get("head_dim") or hidden // heads),
        eos_token_ids=tuple(
            int(v) for v in (eos if isinstance(eos, list) else [eos] if eos is not None else [])
        ),
        past_present_share_buffer=False,
        generation_defaults={
            k: generation[k]
            for k in ("do_sample", "temperature", "top_k", "top_p", "repetition_penalty")
            if k in generation
        },
        tokenizer_path=root / "tokenizer.json",
        tokenizer_config=read_json(tk_path) if tk_path.is_file() else {},
    )
    return VisionModelFolder(
        text=folder,
        vision_encoder_path=_graph(root, "vision_encoder", chosen),
        embed_tokens_path=_graph(root, "embed_tokens", chosen),
        variant=chosen,
        hidden_size=hidden,
        image_token_id=_int(config, "image_token_id", path),
        vision_start_token_id=_int(config, "vision_start_token_id", path),
        image=_image_settings(root, vision),
    )
