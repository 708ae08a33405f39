"""Find the files of a model folder and read its configuration.

Two layouts are understood, told apart by their config file (the I/O contract itself is read
from the graph later, see :mod:`glasses.llm.graph_io`):

* onnxruntime-genai builder output: ``genai_config.json`` + the ONNX file it names;
* Hugging Face Optimum / onnx-community: ``config.json`` (+ ``generation_config.json``) and
  ``onnx/model[_variant].onnx`` (or ``model.onnx`` next to the config).

Part of the model store, below the engine: ``glasses models info`` reads these folders
without importing :mod:`glasses.llm`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glasses.model_errors import CorruptModelError, ModelFileError, UnsupportedModelError
from glasses.models.manifest import pulled_variant

# Decoder-only Qwen families whose chat format (ChatML) and graph contract we implement.
SUPPORTED_ARCHITECTURES = frozenset({"qwen2", "qwen3"})


@dataclass(frozen=True)
class ModelFolder:
    root: Path
    onnx_path: Path
    architecture: str
    vocab_size: int
    context_length: int
    num_layers: int
    num_kv_heads: int
    head_dim: int
    eos_token_ids: tuple[int, ...]
    # genai models write present KV into the past buffer in place (preallocated to max length).
    past_present_share_buffer: bool
    generation_defaults: dict[str, Any]  # do_sample / temperature / top_k / top_p / ...
    tokenizer_path: Path
    tokenizer_config: dict[str, Any]


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelFileError(f"{path} is missing") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptModelError(f"{path} is not valid JSON (truncated?): {exc}") from exc
    if not isinstance(data, dict):
        raise CorruptModelError(f"{path} should hold a JSON object")
    return data


def _ids(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    return tuple(int(v) for v in value) if isinstance(value, list) else (int(value),)


def _require(config: dict[str, Any], key: str, path: Path) -> Any:
    if key not in config:
        raise CorruptModelError(f"{path} lacks the field {key!r}")
    return config[key]


def _check_architecture(name: str, path: Path) -> str:
    if name not in SUPPORTED_ARCHITECTURES:
        raise UnsupportedModelError(
            f"{path} describes a {name!r} model; supported: {', '.join(sorted(SUPPORTED_ARCHITECTURES))}"
        )
    return name


def _optimum_onnx(root: Path, variant: str | None) -> Path:
    name = f"model_{variant}.onnx" if variant else "model.onnx"
    for candidate in (root / "onnx" / name, root / name):
        if candidate.is_file():
            return candidate
    found = (
        sorted(p.name for p in (root / "onnx").glob("*.onnx")) if (root / "onnx").is_dir() else []
    )
    hint = f" (present: {', '.join(found)}; pick one with --variant)" if found else ""
    raise ModelFileError(f"no ONNX decoder {name} in {root}/onnx{hint}")


def _open_genai(root: Path, tokenizer_config: dict[str, Any]) -> ModelFolder:
    path = root / "genai_config.json"
    config = read_json(path)
    model = _require(config, "model", path)
    decoder = _require(model, "decoder", path)
    search = config.get("search", {})
    onnx_path = root / str(_require(decoder, "filename", path))
    if not onnx_path.is_file():
        raise ModelFileError(f"{path} names {onnx_path.name}, which is missing from {root}")
    defaults: dict[str, Any] = {
        k: search[k]
        for k in ("do_sample", "temperature", "top_k", "top_p", "repetition_penalty")
        if k in search
    }
    return ModelFolder(
        root=root,
        onnx_path=onnx_path,
        architecture=_check_architecture(str(_require(model, "type", path)), path),
        vocab_size=int(_require(model, "vocab_size", path)),
        context_length=int(model.get("context_length") or search.get("max_length") or 0),
        num_layers=int(_require(decoder, "num_hidden_layers", path)),
        num_kv_heads=int(_require(decoder, "num_key_value_heads", path)),
        head_dim=int(_require(decoder, "head_size", path)),
        eos_token_ids=_ids(model.get("eos_token_id")),
        past_present_share_buffer=bool(search.get("past_present_share_buffer", False)),
        generation_defaults=defaults,
        tokenizer_path=root / "tokenizer.json",
        tokenizer_config=tokenizer_config,
    )


def _open_optimum(root: Path, variant: str | None, tokenizer_config: dict[str, Any]) -> ModelFolder:
    path = root / "config.json"
    config = read_json(path)
    gen_path = root / "generation_config.json"
    generation = read_json(gen_path) if gen_path.is_file() else {}
    eos = _ids(generation.get("eos_token_id")) or _ids(config.get("eos_token_id"))
    defaults: dict[str, Any] = {
        k: generation[k]
        for k in ("do_sample", "temperature", "top_k", "top_p", "repetition_penalty")
        if k in generation
    }
    heads = int(_require(config, "num_attention_heads", path))
    # Qwen3 states head_dim; Qwen2 derives it from the hidden size.
    head_dim = config.get("head_dim") or int(_require(config, "hidden_size", path)) // heads
    return ModelFolder(
        root=root,
        onnx_path=_optimum_onnx(root, variant),
        architecture=_check_architecture(str(_require(config, "model_type", path)), path),
        vocab_size=int(_require(config, "vocab_size", path)),
        context_length=int(_require(config, "max_position_embeddings", path)),
        num_layers=int(_require(config, "num_hidden_layers", path)),
        num_kv_heads=int(config.get("num_key_value_heads") or heads),
        head_dim=int(head_dim),
        eos_token_ids=eos,
        past_present_share_buffer=False,
        generation_defaults=defaults,
        tokenizer_path=root / "tokenizer.json",
        tokenizer_config=tokenizer_config,
    )


def open_model_folder(root: Path | str, variant: str | None = None) -> ModelFolder:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ModelFileError(f"model folder {root} does not exist")
    tokenizer_path = root / "tokenizer.json"
    if not tokenizer_path.is_file():
        raise ModelFileError(f"{root} has no tokenizer.json")
    tk_config_path = root / "tokenizer_config.json"
    tokenizer_config = read_json(tk_config_path) if tk_config_path.is_file() else {}
    if (root / "genai_config.json").is_file():
        folder = _open_genai(root, tokenizer_config)
    elif (root / "config.json").is_file():
        # A folder from `glasses models pull` holds one variant; its manifest names it.
        folder = _open_optimum(root, variant or pulled_variant(root), tokenizer_config)
    else:
        raise ModelFileError(f"{root} has neither genai_config.json nor config.json")
    if folder.context_length <= 0:
        raise CorruptModelError(f"{root}: the model's context length is missing from its config")
    return folder
