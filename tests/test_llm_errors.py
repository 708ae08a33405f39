"""Every way a model folder can be broken gives a clear GlassesError naming the problem."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from glasses.errors import GlassesError
from glasses.extras import MissingExtraError, pip_install
from glasses.llm import (
    CorruptModelError,
    EngineConfig,
    LlmEngine,
    ModelFileError,
    TokenizerMismatchError,
    UnsupportedModelError,
)

onnx = pytest.importorskip("onnx")
from llm_support.folders import BuiltModel  # noqa: E402

pytestmark = pytest.mark.model


def clone(src: Path, dst: Path, *, copy: tuple[str, ...] = ()) -> Path:
    """Hard-link a model folder (it is large) except the files a test will modify.  (Not
    symlinks: onnxruntime rejects external data that resolves outside the model folder.)"""
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.relative_to(src).as_posix() in copy:
                target.write_bytes(path.read_bytes())
            else:
                os.link(path, target)
    return dst


@pytest.fixture
def genai_fp32(llm_zoo: dict[str, BuiltModel]) -> Path:
    return llm_zoo["genai-qwen2-fp32"].path  # model.onnx + model.onnx.data


@pytest.fixture
def optimum(llm_zoo: dict[str, BuiltModel]) -> Path:
    return llm_zoo["optimum-qwen3-fp32"].path


def test_all_errors_are_glasses_errors() -> None:
    for cls in (ModelFileError, CorruptModelError, UnsupportedModelError, TokenizerMismatchError):
        assert issubclass(cls, GlassesError)


def test_missing_folder_and_files(tmp_path: Path, genai_fp32: Path, optimum: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        LlmEngine.load(tmp_path / "nope")
    broken = clone(genai_fp32, tmp_path / "a")
    (broken / "tokenizer.json").unlink()
    with pytest.raises(ModelFileError, match=re.escape("tokenizer.json")):
        LlmEngine.load(broken)
    broken = clone(genai_fp32, tmp_path / "b")
    (broken / "model.onnx").unlink()
    with pytest.raises(ModelFileError, match=re.escape("model.onnx")):
        LlmEngine.load(broken)
    broken = clone(optimum, tmp_path / "c")
    (broken / "onnx" / "model.onnx").unlink()
    with pytest.raises(ModelFileError, match=re.escape("model_q4.onnx; pick one with --variant")):
        LlmEngine.load(broken)
    with pytest.raises(ModelFileError, match=re.escape("model_fp16.onnx")):
        LlmEngine.load(optimum, EngineConfig(variant="fp16"))


def test_missing_or_truncated_external_data(tmp_path: Path, genai_fp32: Path) -> None:
    broken = clone(genai_fp32, tmp_path / "a")
    (broken / "model.onnx.data").unlink()
    with pytest.raises(ModelFileError, match=r"model\.onnx\.data, which is missing"):
        LlmEngine.load(broken)
    broken = clone(genai_fp32, tmp_path / "b")
    data = broken / "model.onnx.data"
    content = data.read_bytes()
    data.unlink()
    data.write_bytes(content[: len(content) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        LlmEngine.load(broken)


def test_truncated_or_garbage_onnx(tmp_path: Path, llm_zoo: dict[str, BuiltModel]) -> None:
    int4 = llm_zoo["genai-qwen3-int4"].path  # weights embedded in model.onnx
    broken = clone(int4, tmp_path / "a", copy=("model.onnx",))
    onnx_file = broken / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:-1000])
    with pytest.raises(CorruptModelError, match="not a complete ONNX model"):
        LlmEngine.load(broken)
    onnx_file.write_text("<!DOCTYPE html><html>Sign in to download</html>")
    with pytest.raises(CorruptModelError):
        LlmEngine.load(broken)
    onnx_file.write_bytes(b"")
    with pytest.raises(CorruptModelError):
        LlmEngine.load(broken)


def test_corrupt_config_json(tmp_path: Path, optimum: Path) -> None:
    broken = clone(optimum, tmp_path / "a", copy=("config.json",))
    (broken / "config.json").write_text('{"model_type": "qwen3", "vocab_')
    with pytest.raises(CorruptModelError, match="not valid JSON"):
        LlmEngine.load(broken)


def edit_json(path: Path, **changes: object) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_unsupported_architecture(tmp_path: Path, optimum: Path, genai_fp32: Path) -> None:
    broken = clone(optimum, tmp_path / "a", copy=("config.json",))
    edit_json(broken / "config.json", model_type="gpt_neox")
    with pytest.raises(UnsupportedModelError, match="gpt_neox"):
        LlmEngine.load(broken)
    broken = clone(genai_fp32, tmp_path / "b", copy=("tokenizer_config.json",))
    edit_json(broken / "tokenizer_config.json", chat_template="[INST] {{ content }} [/INST]")
    with pytest.raises(UnsupportedModelError, match="ChatML"):
        LlmEngine.load(broken)
    # Every Qwen release ships its chat template; a folder without one is incomplete.
    broken = clone(genai_fp32, tmp_path / "c", copy=("tokenizer_config.json",))
    edit_json(broken / "tokenizer_config.json", chat_template=None)
    with pytest.raises(ModelFileError, match=r"chat_template\.jinja"):
        LlmEngine.load(broken)


def test_config_disagreeing_with_the_graph(tmp_path: Path, optimum: Path) -> None:
    broken = clone(optimum, tmp_path / "a", copy=("config.json",))
    edit_json(broken / "config.json", num_key_value_heads=4)
    with pytest.raises(UnsupportedModelError, match="KV head count 2 but its config says 4"):
        LlmEngine.load(broken)


def rewrite_graph(folder: Path, edit: object) -> None:
    path = folder / "model.onnx"
    model = onnx.load(str(path), load_external_data=False)
    edit(model)  # type: ignore[operator]
    path.unlink()
    onnx.save_model(model, str(path))  # external data stays linked


def test_unsupported_operators(tmp_path: Path, genai_fp32: Path) -> None:
    def custom_domain(model: onnx.ModelProto) -> None:
        model.graph.node[0].domain = "ai.onnx.contrib"
        model.opset_import.append(onnx.helper.make_opsetid("ai.onnx.contrib", 1))

    def unknown_op(model: onnx.ModelProto) -> None:
        node = next(n for n in model.graph.node if n.op_type == "GroupQueryAttention")
        node.op_type = "PagedGroupQueryAttentionV9"

    broken = clone(genai_fp32, tmp_path / "a")
    rewrite_graph(broken, custom_domain)
    with pytest.raises(UnsupportedModelError, match=re.escape("ai.onnx.contrib")):
        LlmEngine.load(broken)

    def newer_attribute(model: onnx.ModelProto) -> None:
        node = next(n for n in model.graph.node if n.op_type == "GroupQueryAttention")
        node.attribute.append(onnx.helper.make_attribute("qk_output_v9", 1))

    broken = clone(genai_fp32, tmp_path / "b")
    rewrite_graph(broken, unknown_op)
    with pytest.raises(UnsupportedModelError, match="PagedGroupQueryAttentionV9"):
        LlmEngine.load(broken)
    broken = clone(genai_fp32, tmp_path / "c")
    rewrite_graph(broken, newer_attribute)
    with pytest.raises(UnsupportedModelError, match=r"newer onnxruntime may.*qk_output_v9"):
        LlmEngine.load(broken)


def test_unknown_graph_input(tmp_path: Path, genai_fp32: Path) -> None:
    def extra_input(model: onnx.ModelProto) -> None:
        model.graph.input.append(
            onnx.helper.make_tensor_value_info("use_cache_branch", onnx.TensorProto.BOOL, [1])
        )

    broken = clone(genai_fp32, tmp_path / "a")
    rewrite_graph(broken, extra_input)
    with pytest.raises(UnsupportedModelError, match="use_cache_branch"):
        LlmEngine.load(broken)


def test_tokenizer_larger_than_the_model(tmp_path: Path, genai_fp32: Path) -> None:
    from tokenizers import Tokenizer

    broken = clone(genai_fp32, tmp_path / "a", copy=("tokenizer.json",))
    tk = Tokenizer.from_file(str(broken / "tokenizer.json"))
    tk.add_tokens([f"<|extra_{i}|>" for i in range(300)])  # 151969 ids > 151936 logits
    tk.save(str(broken / "tokenizer.json"))
    with pytest.raises(TokenizerMismatchError, match="151969 tokens but the model only scores"):
        LlmEngine.load(broken)


def test_corrupt_tokenizer(tmp_path: Path, genai_fp32: Path) -> None:
    broken = clone(genai_fp32, tmp_path / "a", copy=("tokenizer.json",))
    (broken / "tokenizer.json").write_text('{"version": "1.0", "model": ')
    with pytest.raises(CorruptModelError, match=re.escape("tokenizer.json")):
        LlmEngine.load(broken)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, genai_fp32: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingExtraError, match=re.escape(pip_install("llm"))):
        LlmEngine.load(genai_fp32)
