"""Which serial port reaches the glasses from the header UART (pins 8 TX, 10 RX) of a Raspberry
Pi or a Jetson, and what stands in its way: a pure function of :class:`SerialFacts` (gathered
by :func:`glasses.doctor.facts.read_serial`).

What the boards do (the sources):

* Raspberry Pi 4 and older with Bluetooth: ``/dev/serial0`` (pins 8/10) is the mini UART
  ``ttyS0``, whose clock follows the VPU core and which has a tiny FIFO: unreliable at 921600
  baud. ``dtoverlay=disable-bt`` (or ``miniuart-bt``) in ``/boot/firmware/config.txt`` gives
  pins 8/10 the PL011 ``ttyAMA0`` instead. Raspberry Pi documentation, "Configure UARTs".
* Raspberry Pi 5: ``/dev/serial0`` is ``ttyAMA10``, the 3-pin debug connector; pins 8/10 are
  ``/dev/ttyAMA0``, once enabled (raspi-config, or ``dtparam=uart0=on``).
  raspberrypi/documentation#3294, golemparts/rppal#166.
* Jetson Orin Nano / NX and AGX Orin developer kits: pins 8/10 of the 40-pin header are UART1,
  the controller at ``serial@3100000`` (uarta). JetPack 6 names it ``/dev/ttyTHS1`` (NVIDIA's
  answer on its forum, JetPack 6.0 r36.3: "3100000.serial: ttyTHS1 ... is UART1 from 40-pin
  expansion header", forums.developer.nvidia.com/t/294160), JetPack 5 ``/dev/ttyTHS0``
  (OE4T/meta-tegra#1688). ``/dev/ttyTCU0`` is the debug console (Tegra combined UART). Because
  the name changed between releases, the port is found by its controller's address in sysfs.
  The original Jetson Nano (J41 header) had it at ``serial@70006000``, ``/dev/ttyTHS1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from glasses.doctor.report import Check

NAME = "serial port"
PI5_BOARD = re.compile(r"Raspberry Pi (5|500|Compute Module 5)\b")
PI_CONFIG = "/boot/firmware/config.txt"
# The overlays that give pins 8/10 of a Pi 3/4 the PL011 (ttyAMA0) instead of the mini UART.
BT_OVERLAYS = frozenset({"disable-bt", "miniuart-bt", "pi3-disable-bt", "pi3-miniuart-bt"})
MINI_UART_MAX_BAUD = 115200  # what the mini UART does reliably
# Device-tree nodes of the UART on pins 8/10 of a Jetson 40-pin header.
JETSON_HEADER_UARTS = {
    "3100000.serial": "UART1 (serial@3100000)",  # Orin (and Xavier) uarta
    "70006000.serial": "UART1 (serial@70006000)",  # original Nano, TX1
}
JETSON_NAMES = "/dev/ttyTHS1 on JetPack 6, /dev/ttyTHS0 on JetPack 5"
UART_PREFIXES = ("serial", "ttyAMA", "ttyS", "ttyTHS", "ttyTCU")


@dataclass(frozen=True)
class SerialFacts:
    url: str = ""  # the display URL asked for; "" when none was given
    baud: int = 921600
    links: dict[str, str] = field(default_factory=dict)  # "serial0" -> "ttyAMA0" (/dev links)
    ttys: tuple[str, ...] = ()  # serial devices in /dev: "ttyAMA0", "ttyS0", "ttyTHS1", "ttyACM0"
    uart_nodes: dict[str, str] = field(default_factory=dict)  # "ttyTHS1" -> "3100000.serial"
    boot_config: tuple[str, ...] = ()  # the lines of the Pi's config.txt, comments left out
    consoles: tuple[str, ...] = ()  # console= devices of /proc/cmdline: "serial0", "ttyTCU0"
    gettys: tuple[str, ...] = ()  # ttys with an enabled serial-getty@ unit


@dataclass(frozen=True)
class _Problem:
    what: str
    fix: str


def _device(path: str, facts: SerialFacts) -> str:
    """The tty behind a /dev path: "/dev/serial0" -> "ttyS0" (the link's target, if any)."""
    name = path.removeprefix("/dev/").split(",")[0]
    return facts.links.get(name, name) if name.startswith("serial") else name


def _console_on(dev: str, facts: SerialFacts) -> bool:
    return dev in facts.gettys or any(_device(c, facts) == dev for c in facts.consoles)


def _overlays(lines: tuple[str, ...]) -> set[str]:
    found = set()
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "dtoverlay" and value.strip():
            found.add(value.split(",")[0].strip())
    return found


def _uart0_enabled(lines: tuple[str, ...]) -> bool:
    return any(
        re.fullmatch(r"dtparam\s*=\s*uart0(\s*=\s*on)?|dtoverlay\s*=\s*uart0(-pi5)?", line)
        for line in lines
    )


def _pi(board: str, facts: SerialFacts) -> tuple[str, str, list[_Problem]]:
    """(port for pins 8/10, its tty, problems) on a Raspberry Pi."""
    problems: list[_Problem] = []
    reboot = f"reboot (the setting in {PI_CONFIG} takes effect at boot)"
    enable = (
        "sudo raspi-config: Interface Options, Serial Port: login shell no, hardware yes; "
        "then reboot"
    )
    if PI5_BOARD.search(board):
        port, dev = "/dev/ttyAMA0", "ttyAMA0"
        if _device(facts.url, facts) == "ttyAMA10":
            problems.append(
                _Problem(
                    f"{facts.url} is the 3-pin debug connector (ttyAMA10) on a Pi 5, not pins 8/10",
                    "set display.url = /dev/ttyAMA0",
                )
            )
        if dev not in facts.ttys:
            fix = (
                reboot
                if _uart0_enabled(facts.boot_config)
                else f"{enable} (or dtparam=uart0=on in {PI_CONFIG})"
            )
            problems.append(_Problem("the GPIO UART (ttyAMA0) is not enabled", fix))
    else:
        port = "/dev/serial0"
        dev = facts.links.get("serial0", "")
        moved = _overlays(facts.boot_config) & BT_OVERLAYS
        if not dev:
            enabled = any(re.fullmatch(r"enable_uart\s*=\s*1", line) for line in facts.boot_config)
            fix = reboot if enabled else f"{enable} (or enable_uart=1 in {PI_CONFIG})"
            problems.append(_Problem("the GPIO UART is not enabled (no /dev/serial0)", fix))
        elif dev == "ttyS0" and facts.baud > MINI_UART_MAX_BAUD:
            if moved:
                what = f"{PI_CONFIG} has dtoverlay={min(moved)}, but serial0 is still the mini UART"
                problems.append(_Problem(what, reboot))
            else:
                problems.append(
                    _Problem(
                        f"/dev/serial0 is the mini UART (ttyS0), unreliable at {facts.baud} baud "
                        "(its clock follows the core clock; its FIFO is small)",
                        f"add dtoverlay=disable-bt to {PI_CONFIG}, sudo systemctl disable "
                        "hciuart, reboot: serial0 is then the PL011 (ttyAMA0), and Bluetooth "
                        f"is off (miniuart-bt keeps it, on the mini UART); or display.baud = "
                        f"{MINI_UART_MAX_BAUD}",
                    )
                )
    if dev and _console_on(dev, facts):
        problems.append(
            _Problem(
                f"a login console runs on {port} ({dev}) and answers the glasses' bytes",
                "sudo raspi-config: Interface Options, Serial Port: login shell no (it takes "
                f"console= out of /boot/firmware/cmdline.txt); or sudo systemctl disable --now "
                f"serial-getty@{dev}",
            )
        )
    return port, dev, problems


def _jetson(facts: SerialFacts) -> tuple[str, str, list[_Problem]]:
    """(port for pins 8/10, its tty, problems) on a Jetson."""
    problems: list[_Problem] = []
    header = sorted(t for t, n in facts.uart_nodes.items() if n in JETSON_HEADER_UARTS)
    dev = next((t for t in header if t.startswith("ttyTHS")), header[0] if header else "")
    port = f"/dev/{dev}" if dev else ""
    wanted = _device(facts.url, facts)
    use = f"use {port}" if port else f"use the 40-pin UART: {JETSON_NAMES}"
    if wanted == "ttyTCU0":
        problems.append(_Problem(f"{facts.url} is the debug console, not the 40-pin header", use))
    elif wanted.startswith("ttyTHS") and dev and wanted != dev:
        node = facts.uart_nodes.get(wanted, "another UART")
        problems.append(_Problem(f"{facts.url} is {node}, not the 40-pin header's UART", use))
    if not dev:
        found = ", ".join(t for t in facts.ttys if t.startswith("ttyTHS")) or "no /dev/ttyTHS*"
        problems.append(
            _Problem(
                f"the 40-pin UART (pins 8/10, serial@3100000) was not found ({found})",
                f"it is {JETSON_NAMES}; check: ls -l /sys/class/tty/ttyTHS*/device",
            )
        )
    elif _console_on(dev, facts):
        problems.append(
            _Problem(
                f"a login console runs on {port}",
                f"sudo systemctl disable --now serial-getty@{dev}, and take console={dev} out "
                "of the kernel command line (/boot/extlinux/extlinux.conf)",
            )
        )
    return port, dev, problems


def check_serial_port(board: str, jetson: bool, facts: SerialFacts) -> Check | None:
    """The header UART of a Raspberry Pi or a Jetson: its name, and what to fix before the
    glasses can use it. FAIL when the display is set to it and it cannot work; when the display
    is elsewhere (USB), what it would take is only information. None on other machines."""
    if jetson:
        port, dev, problems = _jetson(facts)
    elif "Raspberry Pi" in board:
        port, dev, problems = _pi(board, facts)
    else:
        return None
    wanted = _device(facts.url, facts)
    on_header = facts.url.startswith("/dev/") and (
        wanted == dev or facts.url.removeprefix("/dev/").startswith(UART_PREFIXES)
    )
    label = f"{port} ({dev})" if port and dev and not port.endswith(dev) else port
    if on_header and problems:
        return Check(
            NAME, "FAIL", "; ".join(p.what for p in problems), "; ".join(p.fix for p in problems)
        )
    if on_header:
        behind = "" if facts.url.endswith(f"/{dev}") else f" ({dev})"
        return Check(NAME, "OK", f"{facts.url}{behind}: the header UART, pins 8/10")
    usb = [f"/dev/{t}" for t in facts.ttys if t.startswith(("ttyACM", "ttyUSB"))]
    where = f"display on {facts.url}" if facts.url else f"USB serial: {', '.join(usb) or 'none'}"
    if not problems:
        return Check(NAME, "OK", f"{where}; pins 8/10: {label}")
    steps = "; ".join(f"{p.what}: {p.fix}" for p in problems)
    return Check(NAME, "OK", f"{where}; to use pins 8/10 ({label or '?'}): {steps}")
