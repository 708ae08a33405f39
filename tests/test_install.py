"""scripts/install.sh for real on a temporary venv (offline, from tiny local wheels), and its dry
runs for each board: the profile it picks, the Jetson's OpenCV and onnxruntime-gpu steps."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "scripts" / "install.sh"
ORT_INIT = "def get_available_providers():\n    return {providers!r}\n"
CPU = ["CPUExecutionProvider"]
GPU = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def make_wheel(
    folder: Path, dist: str, files: dict[str, str], requires: tuple[str, ...] = ()
) -> Path:
    """A pure-Python wheel of ``dist`` 1.20.0 holding ``files`` (path -> text)."""
    version = "1.20.0"
    info = f"{dist}-{version}.dist-info"
    extras = sorted({r.split('extra == "')[1].rstrip('"') for r in requires if "extra ==" in r})
    meta = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
    meta += "".join(f"Provides-Extra: {e}\n" for e in extras)
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    contents = {
        **files,
        f"{info}/METADATA": meta,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in {**contents, f"{info}/RECORD": "\n".join(record) + "\n"}.items():
            zf.writestr(path, text)
    return wheel


def install(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(INSTALL), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **(env or {})},
    )


@pytest.mark.timeout(150)
def test_ort_wheel_twice_ends_with_the_gpu_wheel(tmp_path: Path) -> None:
    """onnxruntime (CPU) and onnxruntime-gpu share the onnxruntime/ folder, and glasses-runtime[llm]
    requires "onnxruntime": a rerun reinstalls the CPU one over the GPU files. Every run must
    still end with the GPU wheel alone, importable."""
    wheels = tmp_path / "wheels"
    make_wheel(
        wheels,
        "onnxruntime",
        {"onnxruntime/__init__.py": ORT_INIT.format(providers=CPU)},
    )
    # glasses as the install sees it: a package whose llm extra requires onnxruntime.
    make_wheel(
        wheels,
        "glasses_runtime",
        {"glasses_stub.py": ""},
        ('onnxruntime>=1.18; extra == "llm"',),
    )
    gpu = make_wheel(
        tmp_path / "gpu",
        "onnxruntime_gpu",
        {"onnxruntime/__init__.py": ORT_INIT.format(providers=GPU)},
    )
    prefix = tmp_path / "opt"
    args = ("--platform", "debian", "--no-system", "--prefix", str(prefix))
    args += ("--wheels", str(wheels), "--extras", "llm", "--ort-wheel", str(gpu))
    python = prefix / "venv" / "bin" / "python"
    outputs = []
    for run in (1, 2):
        result = install(*args)
        assert result.returncode == 0, f"run {run}:\n{result.stdout}\n{result.stderr}"
        probe = "import onnxruntime; print(onnxruntime.get_available_providers())"
        imported = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, check=True
        )
        assert "CUDAExecutionProvider" in imported.stdout, f"run {run}: {imported.stdout}"
        listing = subprocess.run(
            [str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
            capture_output=True,
            text=True,
            check=True,
        )
        dists = {d["name"].lower().replace("_", "-") for d in json.loads(listing.stdout)}
        assert "onnxruntime-gpu" in dists and "onnxruntime" not in dists, (run, dists)
        assert "glasses-runtime" in dists
        outputs.append(result.stdout)
    for commands in outputs:  # both dists out, then the wheel in afresh
        assert "pip uninstall -y -q onnxruntime onnxruntime-gpu" in commands
        assert "--no-deps --force-reinstall" in commands
    assert not list((prefix / "venv" / "lib").glob("python*/site-packages/onnxruntime-1*"))


def _model_file(tmp_path: Path, model: str) -> dict[str, str]:
    path = tmp_path / "model"
    path.write_bytes(model.encode() + b"\0")  # as /proc/device-tree/model has it
    return {"GLASSES_INSTALL_DT_MODEL": str(path)}


@pytest.mark.parametrize(
    ("model", "profile"),
    [
        ("Raspberry Pi 4 Model B Rev 1.4", "pi4"),
        ("Raspberry Pi 400 Rev 1.0", "pi4"),
        ("Raspberry Pi 5 Model B Rev 1.0", "pi5"),
        ("Raspberry Pi Compute Module 5 Rev 1.0", "pi5"),
    ],
)
def test_pi_model_picks_the_profile(tmp_path: Path, model: str, profile: str) -> None:
    result = install("--dry-run", env=_model_file(tmp_path, model))
    assert result.returncode == 0, result.stderr
    assert f"install: platform pi ({model}), profile {profile}," in result.stderr
    assert "python3-picamera2" in result.stdout
    assert "python3 -m venv --system-site-packages" in result.stdout
    if (ROOT / "scripts" / "constraints" / "pi-bookworm.txt").is_file():
        assert "-c " + str(ROOT / "scripts" / "constraints" / "pi-bookworm.txt") in result.stdout


def _fake_cv2(tmp_path: Path, gstreamer: str) -> dict[str, str]:
    """A system Python whose cv2 reports GStreamer YES or NO (PYTHONPATH reaches python3)."""
    folder = tmp_path / "system"
    folder.mkdir()
    info = f"General configuration\n  Video I/O:\n    GStreamer:    {gstreamer} (1.20.3)\n"
    (folder / "cv2.py").write_text(f"def getBuildInformation():\n    return {info!r}\n")
    return {"PYTHONPATH": str(folder)}


@pytest.mark.parametrize("gstreamer", ["YES", "NO"])
def test_jetson_uses_the_system_opencv(tmp_path: Path, gstreamer: str) -> None:
    result = install("--dry-run", "--platform", "jetson", env=_fake_cv2(tmp_path, gstreamer))
    assert result.returncode == 0, result.stderr
    commands = result.stdout
    assert "python3 -m venv --system-site-packages /opt/glasses/venv" in commands
    assert "-c " + str(ROOT / "scripts" / "constraints" / "jetson-jp6.txt") in commands
    removed = "pip uninstall -y -q opencv-python opencv-python-headless" in commands
    assert removed == (gstreamer == "YES")
    if gstreamer == "YES":  # ... and then the venv must import the system's cv2
        assert commands.index("opencv-python-headless") < commands.index("GStreamer")
    else:
        assert "sudo apt install nvidia-opencv" in result.stderr
    assert "profile jetson-orin" in result.stderr


def test_jetson_ort_wheel_dry_run() -> None:
    result = install("--dry-run", "--platform", "jetson", "--ort-wheel", "/tmp/ort.whl")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    extras = next(i for i, x in enumerate(lines) if "[llm,audio,asr,ocr,camera]" in x)
    uninstall = lines.index(
        "+ /opt/glasses/venv/bin/python -m pip uninstall -y -q onnxruntime onnxruntime-gpu"
    )
    wheel = next(i for i, x in enumerate(lines) if x.endswith("--force-reinstall /tmp/ort.whl"))
    assert extras < uninstall < wheel < wheel + 1 < len(lines)
    assert "CUDAExecutionProvider" in lines[wheel + 1]  # the import check after it
    assert "CPU-only" not in result.stderr


def test_no_system_touches_nothing_outside_the_prefix(tmp_path: Path) -> None:
    result = install("--dry-run", "--no-system", "--prefix", str(tmp_path), "--platform", "pi")
    assert result.returncode == 0, result.stderr
    commands = result.stdout
    for absent in ("apt-get", "useradd", "usermod", "/etc/", "/var/", "systemctl"):
        assert absent not in commands, absent
    assert f"python3 -m venv --system-site-packages {tmp_path}/venv" in commands


def test_unknown_option_shows_usage() -> None:
    result = install("--bogus")
    assert result.returncode == 2
    assert "--no-system" in result.stderr and "set -euo" not in result.stderr
    assert sys.executable  # the suite's interpreter; install.sh uses python3 from PATH
