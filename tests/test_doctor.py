"""``glasses doctor``: the checks as pure functions of facts, one real run, and the deployment
files it is the companion of (scripts/install.sh, scripts/glasses.service)."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from glasses.cli import main
from glasses.doctor import Facts, Found, exit_code, render_table, run_checks, to_json
from glasses.doctor.checks import check_cpu, cpu_flags
from glasses.extras import pip_install

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
PI5_CPUINFO = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp
CPU implementer\t: 0x41
"""
PI4_FEATURES = "Features\t: fp asimd evtstrm crc32 cpuid\n"
X86_FLAGS = "flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512_vnni\n"

HEALTHY = Facts(
    python_version=(3, 11, 2),
    machine="aarch64",
    cpu_flags=cpu_flags(PI5_CPUINFO),
    board="Raspberry Pi 5 Model B Rev 1.0",
    jetson=False,
    ort_providers=("CPUExecutionProvider",),
    font=Found("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc (face 2)"),
    llm_model=Found("/var/lib/glasses/models/qwen3-0.6b-int4 (qwen3)"),
    vad_model=Found("/opt/glasses/venv/.../silero_vad.onnx"),
    asr_model=Found("/var/lib/glasses/models/sensevoice/model.int8.onnx"),
    display=Found("/dev/ttyACM0 opens"),
    audio_inputs=("[1] USB Audio",),
    cameras=("picamera2: imx708",),
)


def statuses(facts: Facts) -> dict[str, str]:
    return {c.name: c.status for c in run_checks(facts)}


def test_healthy_machine_is_all_ok() -> None:
    checks = run_checks(HEALTHY)
    assert {c.status for c in checks} == {"OK"} and exit_code(checks) == 0
    assert "dot-product" in render_table(checks)


def test_cpu_features() -> None:
    assert "asimddp" in cpu_flags(PI5_CPUINFO)
    assert check_cpu("aarch64", cpu_flags(PI4_FEATURES), "Raspberry Pi 4").status == "WARN"
    x86 = check_cpu("x86_64", cpu_flags(X86_FLAGS), "")
    assert x86.status == "OK" and "avx512_vnni" in x86.detail
    assert check_cpu("x86_64", frozenset({"sse2"}), "").status == "WARN"
    assert check_cpu("riscv64", frozenset(), "").status == "WARN"


def test_missing_pieces_say_how_to_get_them() -> None:
    broken = replace(
        HEALTHY,
        python_version=(3, 9, 2),
        ort_providers=None,
        ort_error="No module named 'onnxruntime'",
        font=Found(None, "no font covering Chinese"),
        vad_model=Found(None, "the Silero VAD model is not installed"),
        asr_runtime_error="not installed",
    )
    checks = {c.name: c for c in run_checks(broken)}
    assert exit_code(list(checks.values())) == 1
    assert checks["python"].status == "FAIL"
    assert checks["onnxruntime"].fix == pip_install("llm")
    assert checks["cjk font"].fix == "sudo apt install fonts-noto-cjk"
    assert pip_install("audio") in checks["vad model"].fix
    assert checks["asr"].fix == pip_install("asr")
    report = json.loads(to_json(list(checks.values())))
    assert report["ok"] is False and report["counts"]["FAIL"] == 5
    assert "fix: sudo apt install fonts-noto-cjk" in render_table(list(checks.values()))


def test_not_configured_is_a_warning_and_bad_configuration_a_failure() -> None:
    unset = Found(None, "no LLM model folder in /x", configured=False)
    assert statuses(replace(HEALTHY, llm_model=unset))["llm model"] == "WARN"
    wrong = Found(None, "model folder /nope does not exist")
    assert statuses(replace(HEALTHY, llm_model=wrong))["llm model"] == "FAIL"
    assert statuses(replace(HEALTHY, display=Found(configured=False)))["display"] == "WARN"


def test_serial_permission_hints() -> None:
    denied = replace(
        HEALTHY,
        display=Found(None, "cannot open the display link '/dev/ttyACM0': permission denied"),
        display_errno=errno.EACCES,
        dialout_member=False,
        dialout_active=False,
    )
    check = {c.name: c for c in run_checks(denied)}["display"]
    assert check.status == "FAIL" and "usermod -aG dialout" in check.fix
    relogin = replace(denied, dialout_member=True)
    assert "log in again" in {c.name: c for c in run_checks(relogin)}["display"].fix


def test_devices_and_accelerators_degrade_to_warnings() -> None:
    facts = replace(
        HEALTHY,
        jetson=True,
        board="NVIDIA Jetson Orin Nano",
        audio_inputs=None,
        audio_error="sounddevice cannot load PortAudio (...): run  sudo apt install libportaudio2",
        cameras=(),
        remote=Found(None, "http://gpu:8000/v1: no answer to GET /models"),
    )
    checks = {c.name: c for c in run_checks(facts)}
    assert checks["onnxruntime"].status == "WARN" and "--ort-wheel" in checks["onnxruntime"].fix
    assert checks["microphone"].fix == "sudo apt install libportaudio2"
    assert checks["camera"].status == "WARN" and checks["remote model"].status == "WARN"
    assert exit_code(list(checks.values())) == 0
    cuda = replace(facts, ort_providers=("CUDAExecutionProvider", "CPUExecutionProvider"))
    assert statuses(cuda)["onnxruntime"] == "OK"


@pytest.mark.process
def test_real_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["doctor", "--json", "--no-probe", "--model", str(tmp_path / "none")])
    report = json.loads(capsys.readouterr().out)
    names = [c["name"] for c in report["checks"]]
    assert names[:4] == ["python", "cpu", "onnxruntime", "cjk font"]
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["python"]["status"] == "OK"
    assert by_name["llm model"]["status"] == "FAIL"  # the folder given does not exist
    assert code == 1 and report["ok"] is False
    assert main(["doctor", "--no-probe"]) in (0, 1)
    assert "STATUS" in capsys.readouterr().out


# --- deployment files ------------------------------------------------------------------------

INSTALL = ROOT / "scripts" / "install.sh"
UNIT = ROOT / "scripts" / "glasses.service"


@pytest.mark.process
@pytest.mark.parametrize(
    "script", sorted((ROOT / "scripts").glob("*.sh")), ids=lambda path: path.name
)
def test_shell_scripts_are_valid_bash(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt install shellcheck)")
    result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.process
@pytest.mark.parametrize("platform", ["pi", "jetson"])
def test_install_script_dry_run(platform: str) -> None:
    result = subprocess.run(
        ["bash", str(INSTALL), "--dry-run", "--platform", platform],
        capture_output=True,
        text=True,
        check=True,
    )
    commands = result.stdout
    assert "fonts-noto-cjk" in commands and "libportaudio2" in commands
    assert ("python3-picamera2" in commands) == (platform == "pi")
    assert "[llm,audio,asr,ocr,camera]" in commands
    assert "--no-deps silero-vad" not in commands  # the VAD model comes with the audio extra
    assert "usermod -a -G dialout" in commands  # Debian always has the dialout group
    assert "systemctl enable glasses.service" in commands
    assert "/etc/systemd/system/glasses.service" in commands


@pytest.mark.parametrize("profile", ["pi5", "jetson-orin", "pi4"])
def test_installed_settings_load(tmp_path: Path, profile: str) -> None:
    """The glasses.toml the installer writes is valid for the daemon's settings loader."""
    config = pytest.importorskip("glasses.settings")
    script = INSTALL.read_text()
    template = script.split("<<TOML\n", 1)[1].split("\nTOML\n", 1)[0]
    values = {"profile": profile, "STATE_DIR": "/var/lib/glasses", "VENV": "/v", "uart_hint": "x"}
    for name, value in values.items():
        template = template.replace(f"${name}", value)
    path = tmp_path / "glasses.toml"
    path.write_text(template)
    settings = config.load_settings(path)
    assert settings.log.status_file == "/run/glasses/status.json"
    assert "RuntimeDirectory=glasses" in UNIT.read_text()


@pytest.mark.process
def test_systemd_unit(tmp_path: Path) -> None:
    text = UNIT.read_text()
    for line in (
        "User=glasses",
        "SupplementaryGroups=dialout audio video",
        "ExecStart=/opt/glasses/venv/bin/glasses run --config /etc/glasses/glasses.toml",
        "Restart=on-failure",
        "TimeoutStopSec=5",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        # nvargus-daemon's socket (Jetson CSI cameras) from the host's /tmp; "-": absent on a Pi
        "BindPaths=-/tmp/argus_socket",
        "After=nvargus-daemon.service",
    ):
        assert line in text.splitlines(), line
    assert "ReadWritePaths=/var/lib/glasses /var/cache/glasses" in text
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not available")
    # verify insists that ExecStart exists: point it at a binary this machine has.
    unit = tmp_path / "glasses.service"
    unit.write_text(
        text.replace("/opt/glasses/venv/bin/glasses", shutil.which("true") or "/bin/true")
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "glasses.service" not in result.stderr, result.stderr


def test_a_fix_is_said_once() -> None:
    # The errors of the ASR folder check and of the extras end with their own fix already.
    missing = "speech model folder not found: /m/sensevoice (run: glasses models pull sensevoice)"
    portaudio = "PortAudio library not found; fix: sudo apt install libportaudio2"
    for configured in (False, True):
        facts = replace(
            HEALTHY,
            asr_model=Found(None, missing, configured=configured),
            audio_inputs=None,
            audio_error=portaudio,
        )
        checks = {c.name: c for c in run_checks(facts)}
        table = render_table(list(checks.values()), width=400)
        assert table.count("glasses models pull sensevoice") == 1, table
        assert table.count("sudo apt install libportaudio2") == 1, table
        assert checks["asr"].detail == "speech model folder not found: /m/sensevoice"
        assert "glasses models pull sensevoice" in checks["asr"].fix
    kept = "folder /m (run: glasses models pull other)"  # a different command stays
    asr = {c.name: c for c in run_checks(replace(HEALTHY, asr_model=Found(None, kept)))}["asr"]
    assert asr.detail == kept


def test_missing_bitmap_font_is_a_warning_naming_the_package() -> None:
    from glasses.doctor.checks import check_bitmap_font

    missing = check_bitmap_font(Found(None, "no WenQuanYi bitmap font"))
    assert missing is not None and missing.status == "WARN"
    assert "xfonts-wqy" in missing.fix
    found = check_bitmap_font(Found("/usr/share/fonts/X11/misc"))
    assert found is not None and found.status == "OK"
    assert check_bitmap_font(Found(configured=False)) is None
