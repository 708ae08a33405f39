"""The reference firmware (mcu/boards/mps2-an386) under qemu-system-arm, as a display device.

UART0 speaks the link protocol on a pty that QEMU allocates (``--link`` points a stable
symlink at it, as ``glasses-sim display`` does); UART1 is the firmware's debug channel on a
Unix socket (inputs in, panel address and counters out: docs/firmware.md); QEMU's monitor
(QMP) reads the panel's memory back and resets the board.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeVar

from firmware_bridge.protocol.pixels import Levels, unpack
from hw_sim.qmp import Qmp, QmpError

REPO: Final = Path(__file__).resolve().parent.parent
BOARD_DIR: Final = REPO / "mcu" / "boards" / "mps2-an386"
BUILD_DIR: Final = REPO / "mcu" / "build" / "boards" / "mps2-an386"
TOOLS: Final = ("qemu-system-arm", "arm-none-eabi-gcc", "make")
_PTY_LINE: Final = re.compile(r"char device redirected to (/dev/pts/\d+) \(label serial0\)")
_POLL_S: Final = 0.02
_LOG_LINES: Final = 50
_T = TypeVar("_T")


class QemuDeviceError(RuntimeError):
    """The firmware did not build, QEMU did not start, or the debug channel failed."""


def missing_tools() -> list[str]:
    """The programs the firmware device needs that are not on PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def build_firmware(profile: str) -> Path:
    """``make`` the firmware for ``profile`` (incremental); returns its firmware.elf."""
    if missing := missing_tools():
        raise QemuDeviceError(
            f"{', '.join(missing)} not found: install gcc-arm-none-eabi, libnewlib-arm-none-eabi "
            "and qemu-system-arm (scripts/setup.sh --test does)"
        )
    command = ["make", "-C", str(BOARD_DIR), "--no-print-directory", f"PROFILE={profile}"]
    done = subprocess.run([*command, "firmware"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise QemuDeviceError(
            f"the firmware for {profile} did not build ({' '.join(command)}):\n{tail}"
        )
    return BUILD_DIR / profile / "firmware.elf"


class QemuDevice:
    """qemu-system-arm running ``elf``; stop it with :meth:`close`."""

    def __init__(self, elf: Path, link: Path | None = None, start_timeout_s: float = 20.0) -> None:
        if not elf.is_file():
            raise QemuDeviceError(f"{elf}: no firmware there (build it with make -C {BOARD_DIR})")
        self.elf, self.link, self.pty = elf, link, ""
        # Sockets live in a short private folder: a Unix socket path must fit 107 bytes.
        self._dir = Path(tempfile.mkdtemp(prefix="glasses-qemu-"))
        self._log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._lock = threading.Lock()
        command = ["qemu-system-arm", "-M", "mps2-an386", "-kernel", str(elf)]
        command += ["-display", "none", "-monitor", "none", "-serial", "pty"]  # UART0: protocol
        command += ["-serial", f"unix:{self._dir / 'debug.sock'},server=on,wait=off"]  # UART1
        command += ["-qmp", f"unix:{self._dir / 'qmp.sock'},server=on,wait=off"]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            self._start(start_timeout_s)
        except BaseException:
            self.close()
            raise

    def _start(self, timeout_s: float) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        fd, seen = self.proc.stdout.fileno(), b""
        while not (match := _PTY_LINE.search(seen.decode(errors="replace"))):
            # QEMU names the pty before it runs the board; raw reads, so no line waits unseen
            # in a buffer, and a deadline, so a QEMU that says nothing cannot hang us.
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                self._log.extend(seen.decode(errors="replace").splitlines())
                why = "exited" if ready else f"named no pty within {timeout_s:g} s"
                raise QemuDeviceError(f"qemu-system-arm {why}: {self.log()}")
            seen = (seen + chunk)[-(1 << 16) :]  # bounded: QEMU's first lines matter
        self.pty = match.group(1)
        self._log.extend(seen.decode(errors="replace").splitlines())
        # Keep reading QEMU's output so that it never blocks on a full pipe.
        self._drainer = threading.Thread(target=self._drain, name="qemu-output", daemon=True)
        self._drainer.start()
        deadline = time.monotonic() + timeout_s
        self._qmp = self._retry(lambda: Qmp(self._dir / "qmp.sock"), deadline, "QEMU's monitor")
        self._debug = self._retry(self._connect_debug, deadline, "the debug channel")
        self._debug_file = self._debug.makefile("r", encoding="ascii", errors="replace")
        self.panel = self.info()  # the address of the panel's memory, its geometry
        if self.link is not None:
            if self.link.exists() and not self.link.is_symlink():
                raise QemuDeviceError(f"{self.link} exists and is not a symlink; not replacing it")
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            tmp.unlink(missing_ok=True)
            os.symlink(self.pty, tmp)
            tmp.replace(self.link)

    def _retry(self, connect: Callable[[], _T], deadline: float, what: str) -> _T:
        """``connect()`` until it stops failing (QEMU creates its sockets as it
        starts); QemuDeviceError when QEMU exits (its own words) or at ``deadline``."""
        while True:
            try:
                return connect()
            except (OSError, QmpError) as exc:
                if self.proc.poll() is not None:
                    raise self._failure(str(exc)) from None
                if time.monotonic() > deadline:
                    raise QemuDeviceError(f"cannot connect to {what}: {exc}") from None
                time.sleep(_POLL_S)  # waiting for another process: nothing to wait on

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._log.append(line.decode(errors="replace").rstrip())

    def _connect_debug(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5.0)
        sock.connect(str(self._dir / "debug.sock"))
        return sock

    def log(self) -> str:
        """QEMU's last output lines (its errors)."""
        return "\n".join(self._log) or "(no output)"

    @property
    def url(self) -> str:
        return str(self.link) if self.link else self.pty

    def command(self, line: str) -> str:
        """One debug-channel command (docs/firmware.md); returns the firmware's answer line."""
        with self._lock:
            try:
                self._debug.sendall(line.encode("ascii") + b"\n")
                answer = self._debug_file.readline(256).strip()
            except TimeoutError:
                raise QemuDeviceError(f"the firmware did not answer {line!r} on UART1") from None
            except OSError as exc:
                raise self._failure(f"the debug channel failed: {exc}") from None
        if not answer or answer.startswith("error"):
            raise QemuDeviceError(f"the firmware answered {line!r} with {answer or 'nothing'!r}")
        return answer

    def info(self) -> dict[str, int]:
        """``i``: the panel's address and geometry, its state, the firmware's counters."""
        words = self.command("i").split()[1:]
        return {k: int(v, 0) for k, v in (w.split("=", 1) for w in words)}

    def post_event(self, kind: int, code: int, value: int) -> bool:
        """An input event (section 6.2) as if from the board's hardware; False if its queue
        is full."""
        return self.command(f"e {kind} {code} {value}") == "ok"

    def post_log(self, level: int, text: str) -> bool:
        return self.command(f"l {level} {text}") == "ok"

    def screen(self) -> Levels:
        """The panel's memory (the front buffer) as levels, row-major (height, width)."""
        p = self.panel
        dump = self._dir / "panel.bin"
        with self._lock:
            try:
                self._qmp.execute(
                    "pmemsave", val=p["panel"], size=p["stride"] * p["height"], filename=str(dump)
                )
            except (QmpError, OSError) as exc:
                raise self._failure(str(exc)) from None
        return unpack(dump.read_bytes(), p["width"], p["height"], p["bpp"])

    def reset(self) -> None:
        """Press the board's reset button (the firmware boots again, panel memory kept)."""
        with self._lock:
            try:
                self._qmp.execute("system_reset")
            except (QmpError, OSError) as exc:
                raise self._failure(str(exc)) from None

    def _failure(self, what: str) -> QemuDeviceError:
        """What went wrong: QEMU's last words if it exited, else ``what``."""
        try:
            self.proc.wait(0.5)  # a broken socket is usually QEMU going away
        except subprocess.TimeoutExpired:
            return QemuDeviceError(what)
        self._drainer.join(1.0)  # its output, up to the end
        return QemuDeviceError(f"qemu-system-arm exited: {self.log()}")

    def close(self, timeout_s: float = 5.0) -> None:
        if self.link is not None and self.link.is_symlink() and os.readlink(self.link) == self.pty:
            self.link.unlink(missing_ok=True)
        if self.proc.poll() is None:
            with contextlib.suppress(QmpError, OSError, AttributeError):
                self._qmp.execute("quit")
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for name in ("_qmp", "_debug_file", "_debug"):
            with contextlib.suppress(OSError, AttributeError):
                getattr(self, name).close()
        shutil.rmtree(self._dir, ignore_errors=True)
