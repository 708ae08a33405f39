"""Looking at this machine for ``glasses doctor``.  Every probe is guarded: a missing library
or device becomes a fact ("not found: why"), never a crash of the doctor itself."""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from glasses.accel import doctor_accel
from glasses.doctor.checks import Facts, Found, cpu_flags
from glasses.doctor.serial import SerialFacts

SENSEVOICE_NAME = "sensevoice"  # its name in the model store
SENSEVOICE_ENV = "GLASSES_SENSEVOICE_DIR"


@dataclass(frozen=True)
class DoctorOptions:
    llm_model: str | None = None  # folder or name; None: any valid LLM in the models folder
    asr_model: Path | None = None  # speech model folder; None: $GLASSES_SENSEVOICE_DIR or pulled
    vad_model: Path | None = None  # silero_vad.onnx; None: the installed one (locate_model)
    display: str | None = None  # display URL (device path, socket://...); None: not checked
    baud: int = 921600
    remote: str | None = None  # remote API base URL to probe; None: not checked
    probe_devices: bool = True  # open the display port and cameras (False: only list them)
    # The providers settings of llm, ocr and asr ({"llm": ("cuda",), ...}); empty: not checked.
    providers: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _found(probe: Callable[[], str], *, configured: bool = True) -> Found:
    try:
        return Found(probe(), configured=configured)
    except Exception as exc:  # each probe's failure is the fact we report
        return Found(None, str(exc) or type(exc).__name__, configured=configured)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace").replace("\x00", "").strip()
    except OSError:
        return ""


def _font() -> str:
    from glasses.display.fonts import find_font

    font = find_font()
    return f"{font.path} (face {font.index})"


def _bitmap_font() -> str:
    from glasses.display.fonts import BITMAP_DIR, bitmap_strike

    strike = bitmap_strike(12)
    if strike is None:
        raise FileNotFoundError(
            f"no WenQuanYi bitmap font in {BITMAP_DIR}: 1-bit displays draw small CJK with "
            "the outline font, which loses strokes (今 looks like 令)"
        )
    return f"{os.path.dirname(strike.path)} (WenQuanYi Bitmap Song, for 1-bit displays)"


def _llm(name: str | None) -> str:
    from glasses.models.llm_folder import open_model_folder
    from glasses.models.store import models_dir, resolve_model_dir

    if name is not None:
        folder = open_model_folder(resolve_model_dir(name))
        return f"{folder.root} ({folder.architecture})"
    root = models_dir()
    for candidate in sorted(root.iterdir()) if root.is_dir() else []:
        with contextlib.suppress(Exception):
            folder = open_model_folder(candidate)
            return f"{folder.root} ({folder.architecture})"
    raise FileNotFoundError(f"no LLM model folder in {root}")


def _vad(path: Path | None) -> str:
    from glasses.perception.vad import locate_model

    return str(locate_model(path))


def _asr(path: Path | None) -> str:
    from glasses.models.store import models_dir
    from glasses.perception.asr import default_model_dir, inspect_folder

    folder = inspect_folder(path or default_model_dir() or models_dir() / SENSEVOICE_NAME)
    return f"{folder.main_file} ({folder.kind})"


def _asr_runtime() -> str:
    """Empty when sherpa-onnx imports; else "not installed", or why its import fails."""
    from glasses.extras import ExtraImportError, MissingExtraError, require

    try:
        require("sherpa_onnx", "asr", purpose="speech recognition")
    except MissingExtraError:
        return "not installed"
    except ExtraImportError as exc:  # installed, but e.g. a system library is missing
        return str(exc)
    return ""


def _display(url: str, baud: int, probe: bool) -> tuple[Found, int | None]:
    if not probe:  # only whether the device node is there
        if "://" in url or os.path.exists(url):
            return Found(f"{url} (not opened: --no-probe)"), None
        return Found(None, f"{url} does not exist"), errno.ENOENT
    try:
        from firmware_bridge.transport import open_transport

        open_transport(url, baud).close()
        return Found(f"{url} opens"), None
    except Exception as exc:
        return Found(None, str(exc)), _errno(exc)


def _errno(exc: BaseException) -> int | None:
    seen: BaseException | None = exc
    for _ in range(5):  # pyserial and our LinkError wrap the OSError loosely
        if seen is None:
            return None
        if isinstance(getattr(seen, "errno", None), int):
            return int(getattr(seen, "errno"))  # noqa: B009
        seen = seen.__cause__ or seen.__context__
    return None


def _dialout() -> tuple[bool, bool]:
    try:
        group = grp.getgrnam("dialout")
    except KeyError:
        return False, False
    import getpass

    user = getpass.getuser()
    return user in group.gr_mem or os.getgid() == group.gr_gid, group.gr_gid in os.getgroups()


def _audio() -> tuple[tuple[str, ...] | None, str]:
    try:
        from glasses.sources.devices import list_audio_inputs

        return tuple(f"[{a.index}] {a.name}" for a in list_audio_inputs()), ""
    except Exception as exc:  # ImportError (extra), OSError/GlassesError (PortAudio)
        return None, str(exc)


def _cameras(probe: bool) -> tuple[str, ...]:
    from glasses.sources.devices import list_cameras, list_pi_cameras

    names: list[str] = []
    with contextlib.suppress(Exception):
        names += [
            f"{c.path} {c.name}".strip() for c in list_cameras(probe=probe) if c.opened or not probe
        ]
    with contextlib.suppress(Exception):
        names += [f"picamera2: {n}" for n in list_pi_cameras()]
    return tuple(names)


def _remote(url: str) -> str:
    from glasses.llm.remote import RemoteBackend, RemoteConfig

    if not RemoteBackend(RemoteConfig(base_url=url, model="")).probe():
        raise ConnectionError(f"{url}: no answer to GET /models")
    return url


def _ort() -> tuple[tuple[str, ...] | None, str]:
    from glasses.extras import require

    try:
        onnxruntime = require("onnxruntime", "llm", purpose="the models")
        return tuple(onnxruntime.get_available_providers()), ""
    except Exception as exc:  # not installed, or why its import fails (and the fix)
        return None, str(exc)


SERIAL_TTY_PREFIXES = ("ttyAMA", "ttyS", "ttyTHS", "ttyTCU", "ttyACM", "ttyUSB")


def read_serial(root: Path, url: str = "", baud: int = 921600) -> SerialFacts:
    """The serial ports of this board as files show them under ``root`` ("/"; tests build a
    tree): /dev links and ttys, each UART's device-tree node, the Pi's config.txt, consoles."""
    links: dict[str, str] = {}
    for name in ("serial0", "serial1"):
        with contextlib.suppress(OSError):
            links[name] = os.path.basename(os.readlink(root / "dev" / name))
    ttys: list[str] = []
    with contextlib.suppress(OSError):
        ttys = [p.name for p in (root / "dev").iterdir() if p.name.startswith(SERIAL_TTY_PREFIXES)]
    ttys.sort(key=lambda n: (n.rstrip("0123456789"), len(n), n))
    nodes: dict[str, str] = {}
    for tty in ttys:
        with contextlib.suppress(OSError):
            device = root / "sys" / "class" / "tty" / tty / "device"
            nodes[tty] = os.path.basename(os.readlink(device))
    config = ""
    for path in ("boot/firmware/config.txt", "boot/config.txt"):  # bookworm, then older
        config = config or _read(str(root / path))
    cmdline = _read(str(root / "proc" / "cmdline")).split()
    wants: list[str] = []
    with contextlib.suppress(OSError):
        wants = os.listdir(root / "etc" / "systemd" / "system" / "getty.target.wants")
    return SerialFacts(
        url=url,
        baud=baud,
        links=links,
        ttys=tuple(ttys),
        uart_nodes=nodes,
        boot_config=tuple(
            line.strip()
            for line in config.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ),
        consoles=tuple(
            a.removeprefix("console=").split(",")[0] for a in cmdline if a.startswith("console=")
        ),
        gettys=tuple(
            sorted(
                w.removeprefix("serial-getty@").removesuffix(".service")
                for w in wants
                if w.startswith("serial-getty@")
            )
        ),
    )


def gather(options: DoctorOptions) -> Facts:
    board = _read("/proc/device-tree/model")
    providers, ort_error = _ort()
    display, display_errno = (
        _display(options.display, options.baud, options.probe_devices)
        if options.display
        else (Found(configured=False), None)
    )
    member, active = _dialout()
    audio, audio_error = _audio()
    return Facts(
        python_version=(sys.version_info[0], sys.version_info[1], sys.version_info[2]),
        machine=platform.machine(),
        cpu_flags=cpu_flags(_read("/proc/cpuinfo")),
        board=board,
        jetson=os.path.exists("/etc/nv_tegra_release") or "jetson" in board.lower(),
        ort_providers=providers,
        ort_error=ort_error,
        font=_found(_font),
        bitmap_font=_found(_bitmap_font),
        llm_model=_found(lambda: _llm(options.llm_model), configured=bool(options.llm_model)),
        vad_model=_found(lambda: _vad(options.vad_model)),
        asr_model=_found(
            lambda: _asr(options.asr_model),
            configured=bool(options.asr_model or os.environ.get(SENSEVOICE_ENV)),
        ),
        asr_runtime_error=_asr_runtime(),
        display=display,
        display_errno=display_errno,
        dialout_member=member,
        dialout_active=active,
        audio_inputs=audio,
        audio_error=audio_error,
        cameras=_cameras(options.probe_devices),
        remote=_found(lambda: _remote(options.remote or ""), configured=bool(options.remote)),
        accel=doctor_accel(options.providers, providers) if options.providers else (),
        serial=read_serial(Path("/"), options.display or "", options.baud),
    )
