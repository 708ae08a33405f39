"""The computer's own readings: the hottest thermal zone, the throttling a Pi's firmware reports
now, and a Jetson's power mode, read from sysfs under ``root`` (a fake tree in tests).

* thermal zones: ``sys/class/thermal/thermal_zone*/temp`` in milli-degrees Celsius (Pi and
  Jetson alike). A zone that cannot be read (some Jetson zones are disabled and answer EINVAL)
  or reads outside -40..150 °C is left out; so are zones of a type in :data:`IGNORED_ZONES`.
* throttling: ``sys/devices/platform/soc/soc:firmware/get_throttled`` on a Raspberry Pi, a hex
  bit field; only the bits saying "now" count here. Older Pi kernels lack that file: then
  ``vcgencmd get_throttled`` (``throttled=0x50005``) gives the same field, if it is on PATH.
* Jetson power mode: ``var/lib/nvpmodel/status`` (``pmode:0002 ...``), written by nvpmodel,
  read on every poll (``sudo nvpmodel -m N`` changes it while the daemon runs); its name
  (``7W``) from ``etc/nvpmodel.conf`` (``< POWER_MODEL ID=1 NAME=7W >``). A mode listed in
  ``power.saving_power_modes`` saves power; the daemon never changes the mode.

Reading a few sysfs files takes microseconds, but ``vcgencmd`` is a process: the power stage
reads the board on a worker thread.
"""

from __future__ import annotations

import logging
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Final

from glasses.power.events import BoardHeat

log = logging.getLogger(__name__)

THERMAL_ZONES: Final = "sys/class/thermal"
PI_THROTTLED: Final = "sys/devices/platform/soc/soc:firmware/get_throttled"
NVPMODEL_STATUS: Final = "var/lib/nvpmodel/status"
NVPMODEL_CONF: Final = "etc/nvpmodel.conf"  # a link to the board's own conf, which names modes
MODE_NAME_LINE: Final = re.compile(r"<\s*POWER_MODEL\s+ID=(\d{1,4})\s+NAME=([\w.-]{1,32})\s*>")
MAX_CONF_BYTES: Final = 1 << 20  # a conf is tens of kB
# Bits of get_throttled that describe the present (bits 16-19 say "has happened since boot").
THROTTLE_BITS: Final = {
    0: "under-voltage",
    1: "clock capped",
    2: "throttled",
    3: "soft temperature limit",
}
IGNORED_ZONES: Final = frozenset({"PMIC-Die"})  # Jetson: a fixed 100 °C, not a measurement
PLAUSIBLE_C: Final = (-40.0, 150.0)
VCGENCMD_TIMEOUT_S: Final = 2.0  # it answers in milliseconds; a stuck firmware must not hang us


class BoardReader:
    def __init__(self, root: Path = Path("/")) -> None:
        self.root = root
        self._warned: set[str] = set()
        self._vcgencmd: str | None = None  # its path, once looked for ("": not on PATH)
        self._names_seen: tuple[int, int] | None = None  # the conf's mtime and size when parsed
        self._names: dict[str, str] = {}

    def read(self) -> BoardHeat:
        mode = self.power_mode()
        return BoardHeat(self.hottest_c(), self.throttled(), mode, self.mode_name(mode))

    def hottest_c(self) -> float | None:
        """The hottest plausible thermal zone in °C; None when there is none."""
        readings = []
        for zone in sorted((self.root / THERMAL_ZONES).glob("thermal_zone*")):
            if _text(zone / "type") in IGNORED_ZONES:
                continue
            raw = _text(zone / "temp")
            try:
                celsius = int(raw) / 1000
            except ValueError:
                continue  # unreadable or disabled zone
            if PLAUSIBLE_C[0] <= celsius <= PLAUSIBLE_C[1]:
                readings.append(celsius)
        return max(readings, default=None)

    def throttled(self) -> tuple[str, ...]:
        """What a Pi's firmware says is limiting it now (empty elsewhere)."""
        path = self.root / PI_THROTTLED
        source, raw = (PI_THROTTLED, _text(path)) if path.exists() else self._ask_vcgencmd()
        if not raw:
            return ()
        try:
            bits = int(raw, 16)
        except ValueError:
            self._warn(source, f"cannot read {source}: {raw!r} is not a hex number")
            return ()
        return tuple(name for bit, name in THROTTLE_BITS.items() if bits >> bit & 1)

    def _ask_vcgencmd(self) -> tuple[str, str]:
        """``("vcgencmd get_throttled", "0x50005")``; "" where there is no vcgencmd or it fails."""
        name = "vcgencmd get_throttled"
        if self._vcgencmd is None:
            self._vcgencmd = shutil.which("vcgencmd") or ""
        if not self._vcgencmd:
            return name, ""
        try:
            done = subprocess.run(
                [self._vcgencmd, "get_throttled"],
                capture_output=True,
                text=True,
                timeout=VCGENCMD_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self._warn(name, f"{name} failed: {exc}")
            return name, ""
        out = done.stdout.strip()
        if done.returncode != 0 or not out.startswith("throttled="):
            said = (done.stderr or done.stdout).strip()[:200]
            self._warn(
                name,
                f"{name} exited {done.returncode} ({said!r}): throttling not watched "
                "(is this user in the video group?)",
            )
            return name, ""
        return name, out.removeprefix("throttled=")

    def _warn(self, source: str, text: str) -> None:
        if source not in self._warned:  # once: it will not change by itself
            self._warned.add(source)
            log.warning("%s", text)

    def power_mode(self) -> str:
        """A Jetson's nvpmodel mode id (``"0"``), or "" where there is none."""
        for word in _text(self.root / NVPMODEL_STATUS).split():
            if word.startswith("pmode:"):
                digits = word.removeprefix("pmode:")
                if digits.isascii() and digits.isdigit():
                    return str(int(digits))
                self._warn(
                    NVPMODEL_STATUS, f"cannot read {NVPMODEL_STATUS}: {word!r} is not pmode:N"
                )
        return ""

    def mode_name(self, mode: str) -> str:
        """The name nvpmodel.conf gives mode ``mode`` (``"7W"``); "" where it names none.
        Parsed again only when the file changes: a poll costs one stat."""
        path = self.root / NVPMODEL_CONF
        try:
            info = path.stat()
        except OSError:
            return ""
        if not mode or not stat.S_ISREG(info.st_mode):
            return ""
        seen = (info.st_mtime_ns, info.st_size)
        if seen != self._names_seen:
            self._names_seen, self._names = seen, _mode_names(path)
        return self._names.get(mode, "")


def _mode_names(path: Path) -> dict[str, str]:
    """``{"1": "7W", ...}`` from nvpmodel.conf's ``< POWER_MODEL ID=1 NAME=7W >`` lines."""
    try:
        with path.open("rb") as conf:
            text = conf.read(MAX_CONF_BYTES).decode("ascii", errors="replace")
    except OSError:
        return {}
    return {str(int(m[1])): m[2] for m in MODE_NAME_LINE.finditer(text)}


def _text(path: Path) -> str:
    try:
        return path.read_text("ascii", errors="replace").strip()
    except OSError:
        return ""
