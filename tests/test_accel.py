"""Execution providers: the ``providers`` settings, their resolution against what this machine
has (with the CPU fallback logged), what sessions really run on, and where that is shown
(the status file, ``glasses status``, ``glasses doctor``).  This machine has no GPU and a
CPU-only onnxruntime, so every GPU asked for here must end up on the CPU and say so."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from glasses.accel import (
    CPU,
    CUDA,
    ORT_GPU_FIX,
    SHERPA_GPU_FIX,
    TENSORRT,
    ModelAccel,
    doctor_accel,
    plan_providers,
    probe_session,
    resolve_providers,
    runs_on,
    sherpa_available,
)
from glasses.cli import main
from glasses.doctor import Facts, Found, run_checks
from glasses.doctor.checks import check_providers
from glasses.runtime.parts import Parts, add_backend, add_camera
from glasses.runtime.status import format_status, write_status
from glasses.settings import ConfigError, Settings, describe, load_settings

ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.fast


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# --- the settings ----------------------------------------------------------------------------


def test_defaults_are_the_cpu_and_the_jetson_profile_asks_for_the_gpu() -> None:
    s = Settings()
    assert s.llm.providers == s.ocr.providers == s.asr.providers == ("cpu",)
    jetson = load_settings(profile="jetson-orin")
    assert jetson.llm.providers == ("cuda",) and jetson.ocr.providers == ("cuda",)
    assert jetson.asr.providers == ("cpu",)  # the PyPI sherpa-onnx wheel has no CUDA
    pi5 = load_settings(profile="pi5")
    assert pi5.llm.providers == pi5.ocr.providers == ("cpu",)
    documented = {key for key, _, _ in describe()}
    assert {"llm.providers", "ocr.providers", "asr.providers"} <= documented


def test_providers_from_set_take_one_name_or_a_list() -> None:
    assert load_settings(overrides=["llm.providers=cuda"]).llm.providers == ("cuda",)
    s = load_settings(overrides=['llm.providers=["tensorrt", "cuda", "cpu"]', "ocr.providers=auto"])
    assert s.llm.providers == ("tensorrt", "cuda", "cpu") and s.ocr.providers == ("auto",)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("llm.providers=gpu", "llm.providers must be a list of one of auto, tensorrt, cuda, cpu"),
        ("ocr.providers=[]", "ocr.providers must be a non-empty list"),
        ('llm.providers=["auto", "cuda"]', "llm.providers must be auto alone, or a list with cpu"),
        ('asr.providers=["cpu", "cuda"]', "asr.providers must be auto alone, or a list with cpu"),
        (
            'llm.providers=["cuda", "cuda"]',
            "llm.providers must be a non-empty list without repeats",
        ),
    ],
)
def test_bad_providers_name_the_key_and_the_choices(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(overrides=[override])
    assert message in str(err.value)


# --- resolution: a pure function of (asked, available) ---------------------------------------

ALL = (TENSORRT, CUDA, CPU)


@pytest.mark.parametrize(
    ("asked", "available", "providers", "missing"),
    [
        (("cpu",), ALL, (CPU,), ()),
        (("auto",), ALL, (TENSORRT, CUDA, CPU), ()),
        (("auto",), (CUDA, CPU), (CUDA, CPU), ()),  # auto misses nothing while one GPU is there
        (("auto",), (CPU,), (CPU,), (TENSORRT, CUDA)),
        (("cuda",), (CPU,), (CPU,), (CUDA,)),
        (("tensorrt", "cuda"), (CUDA, CPU), (CUDA, CPU), (TENSORRT,)),
        (("cuda", "cpu"), ALL, (CUDA, CPU), ()),
        ((CUDA,), ALL, (CUDA, CPU), ()),  # onnxruntime's own names work too
    ],
)
def test_plan(
    asked: tuple[str, ...],
    available: tuple[str, ...],
    providers: tuple[str, ...],
    missing: tuple[str, ...],
) -> None:
    plan = plan_providers(asked, available)
    assert (plan.providers, plan.missing) == (providers, missing)
    assert plan.primary == {TENSORRT: "tensorrt", CUDA: "cuda", CPU: "cpu"}[providers[0]]


def test_a_missing_gpu_is_a_warning_saying_what_to_install(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        plan = resolve_providers("llm", ["cuda"], [CPU])
    assert plan.providers == (CPU,)
    (message,) = fallback_warnings(caplog)
    assert "llm" in message and "CUDAExecutionProvider is not available" in message
    assert "running on CPU" in message and "scripts/install.sh --ort-wheel" in message
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        resolve_providers("llm", ["auto"], [CUDA, CPU])  # TensorRT absent, CUDA there: fine
        resolve_providers("llm", ["cpu"], [CPU])
    assert fallback_warnings(caplog) == []


# --- real sessions on this CPU-only onnxruntime ----------------------------------------------


def identity_model(path: Path) -> Path:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, str(path))
    return path


@pytest.mark.model
def test_a_session_asked_for_cuda_runs_on_the_cpu_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from glasses.llm import SessionConfig
    from glasses.llm.session import create_session

    assert CUDA not in ort.get_available_providers()  # the premise: no GPU here
    with caplog.at_level(logging.WARNING):
        session = create_session(
            identity_model(tmp_path / "m.onnx"), SessionConfig(providers=("cuda",))
        )
    assert session.get_providers() == [CPU]
    assert any("CUDAExecutionProvider is not available" in m for m in fallback_warnings(caplog))
    assert runs_on("llm", [CPU], session) == "cpu"


@pytest.mark.model
def test_a_gpu_that_does_not_initialise_is_detected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Handed CUDA it does not have, onnxruntime registers the CPU alone (as when CUDA's
    libraries fail to load): :func:`runs_on` reads the truth and warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # onnxruntime's "Specified provider ... not available"
        session = ort.InferenceSession(
            str(identity_model(tmp_path / "m.onnx")), providers=[CUDA, CPU]
        )
        assert probe_session([CUDA, CPU]) == [CPU]
    with caplog.at_level(logging.WARNING):
        assert runs_on("llm", [CUDA, CPU], session) == "cpu"
    (message,) = fallback_warnings(caplog)
    assert "CUDAExecutionProvider did not initialise" in message and "running on CPU" in message


@pytest.mark.model
def test_the_daemon_parts_record_what_the_models_run_on(
    llm_zoo: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        overrides=[
            f"llm.model={llm_zoo['optimum-qwen2-fp32'].path}",
            "llm.providers=auto",
            "ocr.providers=cuda",
        ]
    )
    pytest.importorskip("rapidocr_onnxruntime")
    parts = Parts()
    with caplog.at_level(logging.WARNING):
        add_backend(settings, parts)
        add_camera(settings, parts, opener=lambda: None)  # type: ignore[arg-type,return-value]
    assert parts.backend is not None and parts.providers == {"llm": "cpu", "ocr": "cpu"}
    messages = fallback_warnings(caplog)
    assert any(m.startswith("llm: auto asked for") and "running on CPU" in m for m in messages)
    assert any(m.startswith("ocr: cuda asked for") for m in messages)


# --- where it is shown -----------------------------------------------------------------------


def test_the_status_file_and_glasses_status_show_the_providers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from glasses.runtime.daemon import Daemon

    parts = Parts(providers={"llm": "cuda", "ocr": "cpu", "asr": "cpu", "vad": "cpu"})
    path = tmp_path / "status.json"
    write_status(path, Daemon(load_settings(), parts).snapshot())
    assert json.loads(path.read_text())["providers"]["llm"] == "cuda"
    assert main(["status", "--file", str(path)]) == 1  # the daemon was never started
    out = capsys.readouterr().out
    assert "models run on: llm cuda, ocr cpu, asr cpu, vad cpu" in out
    assert "models run on" not in format_status({"state": "stopped", "pid": 0})


def test_doctor_check_shows_each_model_and_the_fix() -> None:
    healthy = (ModelAccel("llm", ("cuda",), "cuda"), ModelAccel("vad", ("cpu",), "cpu"))
    good = check_providers(healthy)
    assert good is not None and good.status == "OK" and good.detail == "llm cuda, vad cpu"
    fallen = (
        ModelAccel("llm", ("cuda",), "cpu", "cuda not available here", ORT_GPU_FIX),
        ModelAccel("ocr", ("cuda",), "cpu", "cuda not available here", ORT_GPU_FIX),
        ModelAccel("asr", ("cuda",), "cpu", "cuda not in this sherpa-onnx", SHERPA_GPU_FIX),
    )
    warned = check_providers(fallen)
    assert warned is not None and warned.status == "WARN"
    assert warned.detail.startswith("llm cpu (asked cuda: cuda not available here)")
    assert warned.fix == f"{ORT_GPU_FIX}; {SHERPA_GPU_FIX}"  # each fix once
    assert check_providers(()) is None  # not looked at: no row
    facts = Facts((3, 11, 2), "aarch64", frozenset(), "", True, (CPU,), font=Found("f"))
    names = [c.name for c in run_checks(facts)]
    assert "providers" not in names
    assert "providers" in [c.name for c in run_checks(replace(facts, accel=fallen))]


@pytest.mark.process
def test_doctor_on_this_cpu_only_machine(capsys: pytest.CaptureFixture[str]) -> None:
    records = doctor_accel({"llm": ("auto",), "ocr": ("cuda",), "asr": ("cuda",)}, [CPU])
    assert [(r.model, r.runs_on) for r in records] == [
        ("llm", "cpu"),
        ("ocr", "cpu"),
        ("asr", "cpu"),
        ("vad", "cpu"),
    ]
    assert sherpa_available() == (CPU,)  # the PyPI sherpa-onnx wheel
    assert records[2].fix == SHERPA_GPU_FIX and records[3].problem == ""
    main(["doctor", "--json", "--no-probe", "--profile", "jetson-orin"])
    check = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}["providers"]
    assert check["status"] == "WARN" and "llm cpu (asked cuda" in check["detail"]
    assert "--ort-wheel" in check["fix"]
