"""``glasses llm generate`` and ``glasses llm chat`` on a tiny test model."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest

import glasses.cli
from glasses.cli import main

if TYPE_CHECKING:
    from llm_support.folders import BuiltModel


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
    assert out["model"]["architecture"] == "qwen2" and out["model"]["quantized"] == "True"
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
