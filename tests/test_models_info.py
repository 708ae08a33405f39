"""``glasses models info``: what a folder holds, from configs and graph headers only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import glasses.cli
from glasses.cli import main
from glasses.models.folder_info import inspect_folder
from glasses.models.llm_folder import open_model_folder
from glasses.models.manifest import FileRecord, Manifest, write_manifest

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel

pytestmark = pytest.mark.model


@pytest.fixture(autouse=True)
def only_models_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glasses.cli, "COMMAND_MODULES", ("glasses.commands.models",))


def tiny_onnx(path: Path) -> None:
    """A valid one-node graph: enough for the header scan that ``info`` does."""
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(helper.make_model(graph), str(path))


def test_info_on_a_tiny_optimum_llm(
    llm_zoo: dict[str, BuiltModel], capsys: pytest.CaptureFixture[str]
) -> None:
    built = llm_zoo["optimum-qwen2-int4"]
    info = inspect_folder(built.path, built.variant)
    assert (info.kind, info.problems, info.manifest) == ("llm", (), None)
    details = dict(info.details)
    assert details["architecture"] == "qwen2"
    assert details["layout"] == "Optimum / onnx-community"
    assert details["decoder"] == f"onnx/model_{built.variant}.onnx"
    assert "MatMulNBits" in details["quantization"]
    assert details["layers"] == str(built.cfg.num_hidden_layers)
    assert details["context"].endswith("tokens")
    assert ("tokenizer.json", (built.path / "tokenizer.json").stat().st_size) in info.files

    assert main(["models", "info", str(built.path), "--variant", str(built.variant)]) == 0
    out = capsys.readouterr().out
    assert "llm: qwen2 language model" in out and "manifest: none" in out


def test_info_on_genai_layout_and_json(
    llm_zoo: dict[str, BuiltModel], capsys: pytest.CaptureFixture[str]
) -> None:
    built = llm_zoo["genai-qwen3-fp32"]
    assert main(["models", "info", str(built.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "llm" and data["details"]["layout"] == "onnxruntime-genai"
    assert data["details"]["quantization"].startswith("none")
    assert data["total_bytes"] == sum(f["size_bytes"] for f in data["files"])


def test_info_picks_the_only_variant_of_a_pulled_llm(
    llm_zoo: dict[str, BuiltModel], tmp_path: Path
) -> None:
    built = llm_zoo["optimum-qwen3-int4"]
    folder = shutil.copytree(
        built.path, tmp_path / "qwen3", ignore=shutil.ignore_patterns("model.onnx*")
    )
    info = inspect_folder(folder)  # as pulled: onnx/model_q4.onnx only, no --variant needed
    assert (
        info.problems == () and dict(info.details)["decoder"] == f"onnx/model_{built.variant}.onnx"
    )


def test_a_pulled_llm_runs_by_name_without_variant(
    llm_zoo: dict[str, BuiltModel],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    built = llm_zoo["optimum-qwen2-int4"]
    folder = tmp_path / "tiny-qwen2-int4"
    shutil.copytree(built.path, folder, ignore=shutil.ignore_patterns("model.onnx*"))
    files = tuple(
        FileRecord(rel, size, "0" * 64, rel, "none") for rel, size in inspect_folder(folder).files
    )
    manifest = Manifest("tiny-qwen2-int4", "llm", "test/tiny", "0" * 40, built.variant, "", files)
    write_manifest(folder, manifest)
    assert open_model_folder(folder).onnx_path.name == f"model_{built.variant}.onnx"
    monkeypatch.setenv("GLASSES_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(glasses.cli, "COMMAND_MODULES", ("glasses.commands.llm",))
    argv = ["llm", "generate", "--model", "tiny-qwen2-int4", "--prompt", "hi"]
    assert main([*argv, "--max-new-tokens", "2", "--greedy"]) == 0
    capsys.readouterr()


def test_info_on_speech_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sense = tmp_path / "sensevoice"
    tiny_onnx(sense / "model.int8.onnx")
    (sense / "tokens.txt").write_text("<blk> 0\na 1\nb 2\n")
    info = inspect_folder(sense)
    assert (info.kind, info.problems) == ("asr", ())
    assert info.summary.startswith("SenseVoice") and dict(info.details)["tokens"] == "3"

    moon = tmp_path / "moonshine"
    for name in (
        "preprocess.onnx",
        "encode.int8.onnx",
        "uncached_decode.int8.onnx",
        "cached_decode.int8.onnx",
    ):
        tiny_onnx(moon / name)
    (moon / "tokens.txt").write_text("a 0\n")
    assert inspect_folder(moon).summary.startswith("Moonshine")

    vad = tmp_path / "vad"
    tiny_onnx(vad / "silero_vad.onnx")
    assert (inspect_folder(vad).kind, inspect_folder(vad).problems) == ("vad", ())

    model = sense / "model.int8.onnx"
    model.write_bytes(model.read_bytes()[:-5])  # a truncated download
    assert main(["models", "info", str(sense)]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM:" in out and "not a complete ONNX model" in out


def test_info_on_a_named_model_and_on_nonsense(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GLASSES_MODELS_DIR", str(tmp_path))
    tiny_onnx(tmp_path / "silero-vad" / "silero_vad.onnx")
    assert main(["models", "info", "silero-vad"]) == 0
    assert "vad: Silero voice activity detector" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert main(["models", "info", str(tmp_path / "empty")]) == 1
    assert "holds no model files" in capsys.readouterr().out
    assert main(["models", "info", "sensevoice"]) == 2
    assert "glasses models pull sensevoice" in capsys.readouterr().err
