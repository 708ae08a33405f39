"""``glasses doctor``'s serial port check: which port reaches pins 8/10 of a Pi 4, a Pi 5 or a
Jetson Orin, and what to fix first; the facts built by hand, and read from a board-like tree."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from glasses.cli import main
from glasses.doctor import Facts, run_checks
from glasses.doctor.facts import read_serial
from glasses.doctor.serial import SerialFacts, check_serial_port

pytestmark = pytest.mark.fast

PI4 = "Raspberry Pi 4 Model B Rev 1.4"
PI5 = "Raspberry Pi 5 Model B Rev 1.0"
ORIN = "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"

# A Pi 4 out of the box with the UART enabled: pins 8/10 are the mini UART.
PI4_DEFAULT = SerialFacts(
    url="/dev/serial0",
    links={"serial0": "ttyS0", "serial1": "ttyAMA0"},
    ttys=("ttyAMA0", "ttyS0"),
    boot_config=("dtparam=audio=on", "enable_uart=1"),
)
# A Pi 4 after dtoverlay=disable-bt and a reboot.
PI4_FIXED = replace(
    PI4_DEFAULT,
    links={"serial0": "ttyAMA0"},
    boot_config=(*PI4_DEFAULT.boot_config, "dtoverlay=disable-bt"),
)
# JetPack 6 on an Orin devkit: UART1 (40-pin) is ttyTHS1; ttyTHS2 is another controller.
ORIN_JP6 = SerialFacts(
    url="/dev/ttyTHS1",
    ttys=("ttyAMA0", "ttyTCU0", "ttyTHS1", "ttyTHS2"),
    uart_nodes={
        "ttyAMA0": "31d0000.serial",
        "ttyTHS1": "3100000.serial",
        "ttyTHS2": "3140000.serial",
    },
    consoles=("ttyTCU0", "tty0"),
)


def check(board: str, facts: SerialFacts, *, jetson: bool = False) -> tuple[str, str, str]:
    result = check_serial_port(board, jetson, facts)
    assert result is not None and result.name == "serial port"
    return result.status, result.detail, result.fix


def test_pi4_mini_uart_at_921600_needs_disable_bt() -> None:
    status, detail, fix = check(PI4, PI4_DEFAULT)
    assert status == "FAIL" and "mini UART (ttyS0)" in detail and "921600" in detail
    assert "dtoverlay=disable-bt" in fix and "/boot/firmware/config.txt" in fix and "reboot" in fix
    # The mini UART copes at 115200.
    assert check(PI4, replace(PI4_DEFAULT, baud=115200))[0] == "OK"


def test_pi4_overlay_set_but_not_rebooted() -> None:
    pending = replace(PI4_FIXED, links=PI4_DEFAULT.links)
    status, detail, fix = check(PI4, pending)
    assert status == "FAIL" and "dtoverlay=disable-bt" in detail and fix.startswith("reboot")


def test_pi4_with_disable_bt_is_ready() -> None:
    status, detail, _ = check(PI4, PI4_FIXED)
    assert status == "OK" and "/dev/serial0" in detail and "ttyAMA0" in detail


def test_pi4_uart_not_enabled() -> None:
    off = replace(PI4_DEFAULT, links={"serial1": "ttyAMA0"}, boot_config=())
    status, detail, fix = check(PI4, off)
    assert status == "FAIL" and "not enabled" in detail
    assert "raspi-config" in fix and "enable_uart=1" in fix
    # enable_uart=1 written but no reboot since: the fix is the reboot.
    assert check(PI4, replace(off, boot_config=("enable_uart=1",)))[2].startswith("reboot")


def test_login_console_on_the_port() -> None:
    console = replace(PI4_FIXED, consoles=("serial0", "tty1"))
    status, detail, fix = check(PI4, console)
    assert status == "FAIL" and "login console" in detail
    assert "login shell no" in fix and "serial-getty@ttyAMA0" in fix
    getty = replace(PI4_FIXED, gettys=("ttyAMA0",))
    assert check(PI4, getty)[0] == "FAIL"


def test_pi4_on_usb_explains_the_uart_without_failing() -> None:
    status, detail, fix = check(PI4, replace(PI4_DEFAULT, url="/dev/ttyACM0"))
    assert status == "OK" and not fix
    assert "display on /dev/ttyACM0" in detail and "dtoverlay=disable-bt" in detail


def test_pi5_serial0_is_the_debug_connector() -> None:
    pi5 = SerialFacts(
        url="/dev/serial0", links={"serial0": "ttyAMA10"}, ttys=("ttyAMA0", "ttyAMA10")
    )
    status, detail, fix = check(PI5, pi5)
    assert status == "FAIL" and "debug connector" in detail and "/dev/ttyAMA0" in fix
    status, detail, _ = check(PI5, replace(pi5, url="/dev/ttyAMA0"))
    assert status == "OK" and "/dev/ttyAMA0" in detail
    off = replace(pi5, url="/dev/ttyAMA0", ttys=("ttyAMA10",))
    status, detail, fix = check(PI5, off)
    assert status == "FAIL" and "dtparam=uart0=on" in fix and "raspi-config" in fix
    assert check(PI5, replace(off, boot_config=("dtparam=uart0=on",)))[2].startswith("reboot")


def test_jetson_orin_finds_the_40_pin_uart_by_its_controller() -> None:
    status, detail, _ = check(ORIN, ORIN_JP6, jetson=True)
    assert status == "OK" and "/dev/ttyTHS1" in detail
    # JetPack 5 named the same controller ttyTHS0: doctor follows the controller, not the name.
    jp5 = replace(
        ORIN_JP6, url="", ttys=("ttyTCU0", "ttyTHS0"), uart_nodes={"ttyTHS0": "3100000.serial"}
    )
    status, detail, _ = check(ORIN, jp5, jetson=True)
    assert status == "OK" and "pins 8/10: /dev/ttyTHS0" in detail
    status, detail, fix = check(ORIN, replace(ORIN_JP6, url="/dev/ttyTHS2"), jetson=True)
    assert status == "FAIL" and "3140000.serial" in detail and fix == "use /dev/ttyTHS1"
    status, detail, fix = check(ORIN, replace(ORIN_JP6, url="/dev/ttyTCU0"), jetson=True)
    assert status == "FAIL" and "debug console" in detail and fix == "use /dev/ttyTHS1"


def test_jetson_console_and_missing_uart() -> None:
    getty = replace(ORIN_JP6, gettys=("ttyTHS1",))
    status, detail, fix = check(ORIN, getty, jetson=True)
    assert status == "FAIL" and "login console" in detail and "serial-getty@ttyTHS1" in fix
    missing = replace(ORIN_JP6, ttys=("ttyTCU0",), uart_nodes={})
    status, detail, fix = check(ORIN, missing, jetson=True)
    assert status == "FAIL" and "serial@3100000" in detail
    assert "/dev/ttyTHS1 on JetPack 6" in fix


def test_other_machines_have_no_serial_check() -> None:
    assert check_serial_port("", False, PI4_DEFAULT) is None
    facts = Facts(
        python_version=(3, 11, 2),
        machine="x86_64",
        cpu_flags=frozenset({"avx2"}),
        board="",
        jetson=False,
        ort_providers=("CPUExecutionProvider",),
    )
    assert "serial port" not in [c.name for c in run_checks(facts)]
    on_pi = replace(facts, machine="aarch64", board=PI4, serial=PI4_DEFAULT)
    assert {c.name: c.status for c in run_checks(on_pi)}["serial port"] == "FAIL"


def _board_tree(root: Path) -> None:
    """What a Pi 4 with the default UART setup shows, plus a Jetson-style sysfs entry."""
    (root / "dev").mkdir()
    for tty in ("ttyS0", "ttyAMA0", "ttyACM0", "ttyTHS1", "null"):
        (root / "dev" / tty).touch()
    os.symlink("ttyS0", root / "dev" / "serial0")
    os.symlink("ttyAMA0", root / "dev" / "serial1")
    device = root / "sys" / "class" / "tty" / "ttyTHS1"
    device.mkdir(parents=True)
    os.symlink("../../../devices/platform/bus@0/3100000.serial", device / "device")
    (root / "boot" / "firmware").mkdir(parents=True)
    (root / "boot" / "firmware" / "config.txt").write_text(
        "# For more options see config.txt(5)\ndtparam=audio=on\n\n[all]\nenable_uart=1\n"
    )
    (root / "proc").mkdir()
    (root / "proc" / "cmdline").write_text(
        "coherent_pool=1M console=serial0,115200 console=tty1 root=PARTUUID=1-02 rootwait\n"
    )
    wants = root / "etc" / "systemd" / "system" / "getty.target.wants"
    wants.mkdir(parents=True)
    (wants / "getty@tty1.service").touch()
    (wants / "serial-getty@ttyS0.service").touch()


def test_read_serial_from_a_board_tree(tmp_path: Path) -> None:
    _board_tree(tmp_path)
    facts = read_serial(tmp_path, "/dev/serial0", 921600)
    assert facts.links == {"serial0": "ttyS0", "serial1": "ttyAMA0"}
    assert facts.ttys == ("ttyACM0", "ttyAMA0", "ttyS0", "ttyTHS1")
    assert facts.uart_nodes == {"ttyTHS1": "3100000.serial"}
    assert facts.boot_config == ("dtparam=audio=on", "[all]", "enable_uart=1")
    assert facts.consoles == ("serial0", "tty1")
    assert facts.gettys == ("ttyS0",)
    status, detail, fix = check(PI4, facts)
    assert status == "FAIL" and "mini UART" in detail and "login console" in detail
    assert "dtoverlay=disable-bt" in fix and "login shell no" in fix


def test_read_serial_on_a_bare_machine(tmp_path: Path) -> None:
    """Nothing there (a container, a laptop): empty facts, no error."""
    assert read_serial(tmp_path) == SerialFacts()


@pytest.mark.process
def test_doctor_checks_the_configured_display_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With settings (the installed file, --config), doctor looks at their display.url."""
    config = tmp_path / "glasses.toml"
    config.write_text(f'[display]\nurl = "{tmp_path}/no-such-port"\nbaud = 115200\n')
    main(["doctor", "--json", "--no-probe", "--config", str(config)])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["display"]["status"] == "FAIL"
    assert "no-such-port does not exist" in checks["display"]["detail"]
