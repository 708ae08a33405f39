"""The checks of ``glasses doctor`` as pure functions of :class:`Facts` (tests build the facts).

Each says what it found and, when something is missing, exactly how to get it.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from glasses.accel import ModelAccel
from glasses.doctor.report import Check, fail, ok, warn
from glasses.doctor.serial import SerialFacts, check_serial_port
from glasses.extras import install_fix, pip_install

MIN_PYTHON = (3, 10)
LLM_PULL = "glasses models pull qwen3-0.6b-int4"
ASR_PULL = "glasses models pull sensevoice"
JETSON_ORT_FIX = (
    "install the onnxruntime-gpu wheel built for your JetPack "
    "(scripts/install.sh --ort-wheel PATH_OR_URL)"
)


@dataclass(frozen=True)
class Found:
    """The outcome of looking for one thing: where it is, or why it is not there."""

    where: str | None = None  # path, URL or summary of what was found
    error: str = ""  # why not, when ``where`` is None
    configured: bool = True  # False: nothing was asked for, a default was looked for


@dataclass(frozen=True)
class Facts:
    python_version: tuple[int, int, int]
    machine: str  # platform.machine(): "aarch64", "x86_64", ...
    cpu_flags: frozenset[str]  # /proc/cpuinfo "Features" (ARM) or "flags" (x86)
    board: str  # "Raspberry Pi 5 Model B Rev 1.0", "NVIDIA Jetson ...", or ""
    jetson: bool
    ort_providers: tuple[str, ...] | None  # None: onnxruntime does not import
    ort_error: str = ""
    font: Found = field(default_factory=Found)
    bitmap_font: Found = field(default_factory=lambda: Found(configured=False))
    llm_model: Found = field(default_factory=Found)
    vad_model: Found = field(default_factory=Found)
    asr_model: Found = field(default_factory=Found)
    asr_runtime_error: str = ""  # sherpa-onnx import failure, "" if fine
    display: Found = field(default_factory=lambda: Found(configured=False))
    display_errno: int | None = None
    dialout_member: bool = True  # the user is listed in the dialout group
    dialout_active: bool = True  # ...and this process has it (a new login picked it up)
    audio_inputs: tuple[str, ...] | None = ()  # None: could not be listed (see audio_error)
    audio_error: str = ""
    cameras: tuple[str, ...] = ()
    remote: Found = field(default_factory=lambda: Found(configured=False))
    serial: SerialFacts = field(default_factory=SerialFacts)  # the board's header UART
    accel: tuple[ModelAccel, ...] = ()  # what each model asks for and runs on; (): not looked


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature words of /proc/cpuinfo (the first CPU's; all cores match on our boards)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("features", "flags"):
            return frozenset(value.split())
    return frozenset()


def check_python(version: tuple[int, int, int]) -> Check:
    text = ".".join(map(str, version))
    if version[:2] < MIN_PYTHON:
        return fail("python", f"Python {text} is too old", "use Python 3.10 or newer")
    return ok("python", f"Python {text}")


def check_cpu(machine: str, flags: frozenset[str], board: str) -> Check:
    where = f"{board} ({machine})" if board else machine
    if machine in ("aarch64", "arm64"):
        if "asimddp" in flags:
            return ok("cpu", f"{where}: dot-product instructions (fast int4 path)")
        return warn(
            "cpu",
            f"{where}: no dot-product instructions (asimddp): int4 models run on the slow "
            "path (Raspberry Pi 4 and older; a Pi 5 or Jetson Orin has them)",
        )
    if machine in ("x86_64", "amd64", "AMD64"):
        extra = [f for f in ("avx512f", "avx512_vnni", "avx_vnni") if f in flags]
        if "avx2" in flags:
            return ok("cpu", f"{where}: avx2 {' '.join(extra)}".rstrip())
        return warn("cpu", f"{where}: no AVX2, so models run slowly")
    return warn("cpu", f"{where}: not a tested CPU (aarch64 or x86_64)")


def check_onnxruntime(facts: Facts) -> Check:
    if facts.ort_providers is None:
        error = facts.ort_error  # installed but failing to import: the fix its message names
        return fail("onnxruntime", f"not usable: {error}", install_fix(error, "llm"))
    providers = ", ".join(p.removesuffix("ExecutionProvider") for p in facts.ort_providers)
    if facts.jetson and "CUDAExecutionProvider" not in facts.ort_providers:
        return warn("onnxruntime", f"CPU only on a Jetson ({providers})", JETSON_ORT_FIX)
    return ok("onnxruntime", providers)


def check_font(found: Found) -> Check:
    if found.where:
        return ok("cjk font", found.where)
    return fail("cjk font", found.error, "sudo apt install fonts-noto-cjk")


def check_bitmap_font(found: Found) -> Check | None:
    """The bitmap CJK font small text on 1-bit displays is drawn with (xfonts-wqy)."""
    if not found.configured:
        return None
    if found.where:
        return ok("1-bit font", found.where)
    return warn("1-bit font", found.error, "sudo apt install xfonts-wqy")


def check_llm_model(found: Found) -> Check:
    if found.where:
        return ok("llm model", found.where)
    if not found.configured:  # a remote model may serve everything
        return warn("llm model", found.error or "no local model", LLM_PULL)
    return fail("llm model", found.error, f"check --model, or {LLM_PULL}")


def check_vad_model(found: Found) -> Check:
    if found.where:
        return ok("vad model", found.where)
    from glasses.perception.vad import install_hint

    return fail("vad model", found.error, install_hint())


def check_asr(found: Found, runtime_error: str) -> Check:
    if runtime_error:
        return fail("asr", f"sherpa-onnx: {runtime_error}", install_fix(runtime_error, "asr"))
    if found.where:
        return ok("asr", found.where)
    if not found.configured:
        return warn("asr", found.error or "no speech model", ASR_PULL)
    return fail("asr", found.error, f"check --asr-model, or {ASR_PULL}")


def check_display(facts: Facts) -> Check:
    found = facts.display
    if not found.configured:
        return warn("display", "no display URL given (--display)", "")
    if found.where:
        return ok("display", found.where)
    fix = ""
    if facts.display_errno == errno.EACCES:
        if facts.dialout_member and not facts.dialout_active:
            fix = "you are in the dialout group, but not in this session: log in again"
        else:
            fix = "sudo usermod -aG dialout $USER, then log in again"
    elif facts.display_errno == errno.ENOENT:
        fix = "plug the glasses in, or check the path (ls /dev/ttyACM* /dev/serial*)"
    return fail("display", found.error, fix)


def check_audio(facts: Facts) -> Check:
    if facts.audio_inputs is None:
        error = facts.audio_error
        fix = "sudo apt install libportaudio2" if "PortAudio" in error else ""
        fix = fix or (pip_install("audio") if "[audio]" in error else "")
        return warn("microphone", f"cannot list audio inputs: {error}", fix)
    if not facts.audio_inputs:
        return warn("microphone", "no audio input found", "connect a microphone (USB or I2S)")
    return ok("microphone", "; ".join(facts.audio_inputs))


def check_cameras(cameras: tuple[str, ...]) -> Check:
    if not cameras:
        return warn("camera", "no camera found (reading mode needs one)", "connect a camera")
    return ok("camera", "; ".join(cameras))


def check_remote(found: Found) -> Check | None:
    if not found.configured:
        return None
    if found.where:
        return ok("remote model", f"{found.where} answers")
    return warn("remote model", found.error, "is the server running and reachable?")


def check_providers(accel: tuple[ModelAccel, ...]) -> Check | None:
    """``llm cuda, ocr cuda, asr cpu, vad cpu``: WARN when a model asked for a GPU it cannot
    have (VAD is always on the CPU: too small to gain)."""
    if not accel:
        return None
    parts = [
        f"{a.model} {a.runs_on}"
        + (f" (asked {', '.join(a.asked)}: {a.problem})" if a.problem else "")
        for a in accel
    ]
    fixes = list(dict.fromkeys(a.fix for a in accel if a.fix))
    if any(a.problem for a in accel):
        return warn("providers", ", ".join(parts), "; ".join(fixes))
    return ok("providers", ", ".join(parts))


def run_checks(facts: Facts) -> list[Check]:
    checks = [
        check_python(facts.python_version),
        check_cpu(facts.machine, facts.cpu_flags, facts.board),
        check_onnxruntime(facts),
        check_font(facts.font),
        *filter(None, [check_bitmap_font(facts.bitmap_font)]),
        check_llm_model(facts.llm_model),
        check_vad_model(facts.vad_model),
        check_asr(facts.asr_model, facts.asr_runtime_error),
        check_display(facts),
        *filter(None, [check_serial_port(facts.board, facts.jetson, facts.serial)]),
        check_audio(facts),
        check_cameras(facts.cameras),
    ]
    optional = (check_providers(facts.accel), check_remote(facts.remote))
    return [*checks, *(c for c in optional if c)]
