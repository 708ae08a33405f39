"""``glasses llm generate`` and ``glasses llm chat`` on a tiny test model."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import glasses.cli
from glasses.cli import main

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel

pytestmark = pytest.mark.model


@pytest.fixture(autouse=True)
def only_llm_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other subcommands are developed in parallel; test the llm one through the real main()."""
    monkeypatch.setattr(glasses.cli, "COMMAND_MODULES", ("glasses.commands.llm",))


def test_generate_prints_text(
    llm_zoo: dict[str, BuiltModel], capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(llm_zoo["genai-qwen3-int4"].path)
    assert (
        main(
            [
                "llm",
                "generate",
                "--model",
                model,
                "--system",
                "Be brief.",
                "--prompt",
                "Hi",
                "--max-new-tokens",
                "5",
                "--greedy",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert text.endswith("\n") and len(text) > 1


def test_generate_json_has_tokens_and_timings(
    llm_zoo: dict[str, BuiltModel], capsys: pytest.CaptureFixture[str]
) -> None:
    built = llm_zoo["optimum-qwen2-int4"]
    argv = [
        "llm",
        "generate",
        "--model",
        str(built.path),
        "--variant",
        "q4",
        "--prompt",
        "你好",
        "--max-new-tokens",
        "6",
        "--greedy",
        "--json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["token_ids"]) == 6 and out["finish_reason"] == "max_new_tokens"
    timings = out["timings"]
    for key in (
        "time_to_first_token_s",
        "prefill_tokens_per_s",
        "decode_tokens_per_s",
        "prompt_tokens",
        "generated_tokens",
    ):
        assert key in timings
    model = out["model"]  # the JSON types of the values: numbers, booleans, not their text
    assert model["architecture"] == "qwen2" and model["quantized"] is True
    assert isinstance(model["num_layers"], int) and not isinstance(model["num_layers"], bool)
    assert isinstance(model["context_tokens"], int) and isinstance(model["vocab_size"], int)
    assert isinstance(model["last_position_logits"], bool) and model["path"] == str(built.path)
    assert main(argv) == 0  # greedy is deterministic
    assert json.loads(capsys.readouterr().out)["token_ids"] == out["token_ids"]


def test_generate_errors_are_reported(
    tmp_path: object, capsys: pytest.CaptureFixture[str], llm_zoo: dict[str, BuiltModel]
) -> None:
    assert main(["llm", "generate", "--model", "/nonexistent/model", "--prompt", "x"]) == 2
    assert "glasses: error:" in capsys.readouterr().err
    model = str(llm_zoo["genai-qwen2-fp32"].path)
    assert main(["llm", "generate", "--model", model, "--prompt", "x", "--top-p", "2"]) == 2
    assert "top_p" in capsys.readouterr().err
    assert (
        main(["llm", "generate", "--model", model, "--prompt", "x " * 300, "--context", "64"]) == 2
    )
    assert "context holds 64" in capsys.readouterr().err


def test_chat_streams_and_keeps_history(
    llm_zoo: dict[str, BuiltModel],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = str(llm_zoo["genai-qwen2-int4"].path)
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n\nhow are you?\n/reset\nagain\n/exit\n"))
    assert (
        main(
            [
                "llm",
                "chat",
                "--model",
                model,
                "--max-new-tokens",
                "4",
                "--greedy",
                "--context",
                "128",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.count("glasses> ") == 3
    assert "ready" in out


def test_named_model_lookup(
    llm_zoo: dict[str, BuiltModel],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    built = llm_zoo["genai-qwen3-fp32"]
    monkeypatch.setenv("GLASSES_MODELS_DIR", str(built.path.parent))
    assert (
        main(
            [
                "llm",
                "generate",
                "--model",
                built.path.name,
                "--prompt",
                "hi",
                "--max-new-tokens",
                "2",
                "--greedy",
            ]
        )
        == 0
    )
    assert main(["llm", "generate", "--model", "no-such-model", "--prompt", "hi"]) == 2
    assert "not in" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--context", "0", "argument --context: must be from 16 to 1048576, got 0"),
        ("--context", "-5", "argument --context: must be from 16 to 1048576, got -5"),
        ("--threads", "-1", "argument --threads: must be from 0 to 256, got -1"),
        ("--max-new-tokens", "0", "argument --max-new-tokens: must be 1 or more, got 0"),
        ("--timeout", "0", "argument --timeout: must be more than 0, got 0"),
        ("--timeout", "nan", "argument --timeout: must be a finite number, got 'nan'"),
        ("--temperature", "inf", "argument --temperature: must be a finite number, got 'inf'"),
        ("--top-p", "nan", "argument --top-p: must be a finite number, got 'nan'"),
        ("--context", "lots", "argument --context: must be a whole number, got 'lots'"),
    ],
)
def test_out_of_range_numbers_are_refused(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["llm", "generate", "--model", "m", "--prompt", "x", flag, value])
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_model_may_name_the_onnx_file_in_its_folder(
    llm_zoo: dict[str, BuiltModel], capsys: pytest.CaptureFixture[str]
) -> None:
    from glasses.commands.llm import model_folder_of

    optimum = llm_zoo["optimum-qwen2-int4"]
    onnx = optimum.path / "onnx" / "model_q4.onnx"
    assert onnx.is_file()
    assert model_folder_of(str(onnx), None) == (optimum.path, "q4")
    argv = ["llm", "generate", "--model", str(onnx), "--prompt", "hi", "--max-new-tokens", "2"]
    assert main([*argv, "--greedy"]) == 0
    capsys.readouterr()
    assert main([*argv, "--variant", "fp16"]) == 2  # another file than the one given
    assert f"give the folder that holds it: {optimum.path}" in capsys.readouterr().err
    genai = llm_zoo["genai-qwen3-int4"].path
    decoder = next(genai.glob("*.onnx"))
    assert model_folder_of(str(decoder), None) == (genai, None)
    tokenizer = genai / "tokenizer.json"
    assert main(["llm", "generate", "--model", str(tokenizer), "--prompt", "hi"]) == 2
    assert f"give the folder that holds it: {genai}" in capsys.readouterr().err


def test_timeout_exits_non_zero_and_says_so(
    llm_zoo: dict[str, BuiltModel],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import glasses.llm.generator as generator

    clock = iter(range(0, 10_000, 10))  # every look at the clock: 10 s later
    monkeypatch.setattr(generator.time, "monotonic", lambda: float(next(clock)))
    model = str(llm_zoo["genai-qwen2-int4"].path)
    argv = ["llm", "generate", "--model", model, "--prompt", "hi", "--greedy", "--timeout", "25"]
    assert main([*argv, "--max-new-tokens", "50"]) == 1
    captured = capsys.readouterr()
    assert "timed out after 25 s (--timeout)" in captured.err
    assert main([*argv, "--max-new-tokens", "50", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["finish_reason"] == "deadline"
    assert "timed out after 25 s" in captured.err


def test_run_check_opens_the_llm_folder_without_loading_it(
    llm_zoo: dict[str, BuiltModel],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(glasses.cli, "COMMAND_MODULES", ("glasses.commands.run",))
    built = llm_zoo["optimum-qwen2-int4"]
    check = ["run", "--check", "--no-audio", "--set", f"llm.variant={built.variant}"]
    assert main([*check, "--llm-model", str(built.path)]) == 0
    assert json.loads(capsys.readouterr().out)["llm"]["model"] == str(built.path)
    broken = tmp_path / "broken"
    shutil.copytree(built.path, broken)
    decoder = broken / "onnx" / f"model_{built.variant}.onnx"
    os.truncate(decoder, decoder.stat().st_size // 2)  # an interrupted download
    assert main([*check, "--llm-model", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"llm.model '{broken}'" in err and str(decoder) in err
