"""The README's first command: ``scripts/setup.sh`` installs every extra the demo uses, pulls
the default models when the hub answers (a local stand-in of its HTTP API here, never the
network), says so in one line when it does not, and the demo then runs with what was pulled.
Also: every apt-get in the set-up scripts waits for another apt's dpkg lock."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from process_support import run_demo

from glasses.models.registry import REGISTRY, default_specs
from glasses.modes.base import ASR_HINT, LLM_HINT
from glasses.perception.asr import DEFAULT_MODELS
from glasses.settings import load_settings

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "setup.sh"
DEMO_EXTRAS = {"asr", "audio", "llm", "models", "ocr"}  # speech, VAD, Qwen, pulls, OCR
DEFAULT_NAMES = [spec.name for spec in default_specs()]
# Runs `glasses` with the registry's pinned sizes and checksums dropped: the stand-in hub serves
# tiny files at the real repositories and commits, checked against what it reports.
PATCHED_CLI = """
import sys
from dataclasses import replace
from glasses.models import registry
registry.REGISTRY = tuple(
    replace(s, files=tuple(registry.ModelFile(f.path, local_path=f.local_path) for f in s.files))
    for s in registry.REGISTRY
)
from glasses.cli import main
sys.exit(main(sys.argv[1:]))
"""


def setup_commands(*args: str, **env: str) -> list[list[str]]:
    """What ``setup.sh`` would run (its dry run), one argv per command."""
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "GLASSES_SKIP_MODELS")}
    done = subprocess.run(
        ["bash", str(SETUP), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**clean, "GLASSES_SETUP_DRY_RUN": "1", **env},
    )
    assert done.returncode == 0, done.stderr
    return [shlex.split(line[2:]) for line in done.stderr.splitlines() if line.startswith("+ ")]


def pip_extras(commands: list[list[str]]) -> set[str]:
    (target,) = [c[-1] for c in commands if c[1:4] == ["-m", "pip", "install"] and "-e" in c]
    match = re.fullmatch(r"\.\[([a-z,]+)\]", target)
    assert match, target
    return set(match[1].split(","))


def model_step(commands: list[list[str]]) -> list[str] | None:
    pulls = [c for c in commands if c[:3] == [".venv/bin/glasses", "models", "pull"]]
    assert len(pulls) <= 1
    return pulls[0] if pulls else None


def test_run_mode_installs_every_extra_the_demo_uses() -> None:
    assert pip_extras(setup_commands()) >= DEMO_EXTRAS
    assert pip_extras(setup_commands("test")) >= DEMO_EXTRAS | {"test"}


def test_models_are_pulled_in_run_mode_only_unless_skipped() -> None:
    assert model_step(setup_commands()) == [
        ".venv/bin/glasses",
        "models",
        "pull",
        "--defaults",
        "--if-reachable",
    ]
    assert model_step(setup_commands("run")) is not None
    assert model_step(setup_commands("test")) is None
    assert model_step(setup_commands(CI="true")) is None
    assert model_step(setup_commands("--no-models")) is None
    assert model_step(setup_commands("run", "--no-models")) is None
    assert model_step(setup_commands(GLASSES_SKIP_MODELS="1")) is None


@pytest.mark.parametrize("script", ["setup.sh", "install.sh"])
def test_every_apt_get_waits_for_the_dpkg_lock(script: str) -> None:
    text = (ROOT / "scripts" / script).read_text()
    commands = re.sub(r"\\\n\s*", " ", text)  # continuation lines joined
    calls = [
        line
        for line in commands.splitlines()
        if re.search(r"(^|\s)apt-get\s", line.split("#", 1)[0])
        and not line.lstrip().startswith("echo")
    ]
    assert len(calls) >= 2, calls  # update and install
    for call in calls:
        assert re.search(r"apt-get -o DPkg::Lock::Timeout=\d{3,}\s", call), call


def apt_installs(commands: list[list[str]]) -> set[str]:
    return {arg for c in commands if "apt-get" in c and "install" in c for arg in c}


def test_setup_installs_the_libraries_opencv_loads(tmp_path: Path) -> None:
    """rapidocr's OpenCV wheel loads libGL.so.1 and GLib on import: a minimal Debian lacks both
    (issue #10), so setup.sh installs them when the loader's cache has them not."""
    fake = tmp_path / "bin"
    fake.mkdir()
    ldconfig = fake / "ldconfig"
    path = {"PATH": f"{fake}:{os.environ['PATH']}"}  # setup.sh appends /sbin: ours comes first
    ldconfig.write_text("#!/bin/sh\necho '1 libs found in cache'\n")
    ldconfig.chmod(0o755)
    assert {"libgl1", "libglib2.0-0"} <= apt_installs(setup_commands(**path))
    listing = "".join(
        f"\t{lib} (libc6) => /usr/lib/{lib}\n" for lib in ("libGL.so.1", "libgthread-2.0.so.0")
    )
    ldconfig.write_text(f"#!/bin/sh\nprintf '{listing}'\n")
    assert not {"libgl1", "libglib2.0-0"} & apt_installs(setup_commands(**path))
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install.sh"), "--dry-run", "--platform", "debian"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [shlex.split(line[2:]) for line in done.stdout.splitlines() if line.startswith("+ ")]
    assert {"libgl1", "libglib2.0-0"} <= apt_installs(lines)


def test_default_set_is_what_the_daemon_looks_for() -> None:
    kinds = {spec.kind: spec.name for spec in default_specs()}
    assert len(default_specs()) == 2 and set(kinds) == {"asr", "llm"}
    assert kinds["asr"] == DEFAULT_MODELS[0] and ASR_HINT.endswith(kinds["asr"])
    assert kinds["llm"] == load_settings().llm.model and LLM_HINT.endswith(kinds["llm"])
    assert sum(spec.approx_size_bytes for spec in default_specs()) < 1.5e9  # "about 1 GB"
    assert {s.name for s in REGISTRY if s.default} == set(DEFAULT_NAMES)


def child_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GLASSES_"))}
    return {
        **env,
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(tmp_path / "hf-home"),  # no token, no cache of the user's
        "GLASSES_MODELS_DIR": str(tmp_path / "store"),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def run_model_step(
    argv: list[str], env: dict[str, str], patched: bool = False
) -> subprocess.CompletedProcess[str]:
    assert argv[0] == ".venv/bin/glasses"
    glasses = ["-c", PATCHED_CLI] if patched else ["-m", "glasses.cli"]
    return subprocess.run(
        [sys.executable, *glasses, *argv[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_unreachable_hub_is_one_line_and_no_failure(tmp_path: Path) -> None:
    step = model_step(setup_commands())
    assert step is not None
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
        done = run_model_step(step, child_env(tmp_path, endpoint))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert f"the model hub {endpoint} is unreachable" in line
    assert "the demo will use stand-ins" in line
    assert line.endswith(f"(pull later: glasses models pull {' '.join(DEFAULT_NAMES)})")
    assert not (tmp_path / "store").exists()


def test_defaults_are_pulled_from_the_hub_and_the_demo_uses_them(
    tmp_path: Path, llm_zoo: dict[str, Any]
) -> None:
    pytest.importorskip("huggingface_hub")
    from asr_support.tiny_sensevoice import build_tiny_sensevoice
    from models_support.fake_hub import FakeHub, serve

    sources = {
        "sensevoice": build_tiny_sensevoice(tmp_path / "tiny-sensevoice", int8=True),
        "qwen3-0.6b-int4": llm_zoo["optimum-qwen3-int4"].path,
    }
    assert set(sources) == set(DEFAULT_NAMES)
    hub = FakeHub()
    for spec in default_specs():
        hub.add(spec.repo, spec.revision, {f.path: sources[spec.name] / f.path for f in spec.files})
    step = model_step(setup_commands())
    assert step is not None
    store = tmp_path / "store"
    with serve(hub):
        env = child_env(tmp_path, hub.url)
        done = run_model_step(step, env, patched=True)
    assert done.returncode == 0, done.stdout + done.stderr
    for spec in default_specs():
        folder = store / spec.name
        assert f"{spec.name}: ready in {folder}" in done.stdout
        assert f"pulling {spec.name} ({spec.repo}@{spec.revision[:12]}" in done.stderr
        for f in spec.files:
            assert (folder / f.target).read_bytes() == (sources[spec.name] / f.path).read_bytes()
            assert re.search(rf"^  {re.escape(f.target)}  [\d.]+ [kM]?B  ok$", done.stderr, re.M)
    assert any(r.startswith("GET /onnx-community/Qwen3-0.6B-ONNX/resolve/") for r in hub.requests)

    # The demo, as the README's first command runs it: no model flags, the store's models used.
    pytest.importorskip("sherpa_onnx")
    pytest.importorskip("rapidocr_onnxruntime")
    out = tmp_path / "out"
    demo = run_demo(out, timeout_s=180, env=env)
    assert f"speech model: {store / 'sensevoice'}" in demo.stdout, demo.stdout
    assert f"language model: {store / 'qwen3-0.6b-int4'}" in demo.stdout, demo.stdout
    assert "note: no" not in demo.stdout, demo.stdout
    assert "done:" in demo.stdout
    shutil.rmtree(out)
