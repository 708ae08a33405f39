"""The host against two devices: the Python simulator (``glasses-sim display``) and the C
reference firmware under qemu-system-arm (``glasses-sim firmware``, mcu/boards/mps2-an386),
both on real ptys. Each scenario runs on both and the final screens are compared pixel for
pixel, with each other and with what the host drew. Skipped, with the reason, where
qemu-system-arm or the ARM toolchain is missing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.compositor import Compositor
from firmware_bridge.config import LinkConfig
from firmware_bridge.link import DisplayLink
from firmware_bridge.protocol import Copy
from firmware_bridge.protocol.messages import Event, EventKind
from firmware_bridge.protocol.pixels import Levels
from hw_sim.launcher import SimulatorProcess
from hw_sim.qemu_device import build_firmware, missing_tools

pytestmark = pytest.mark.process

if missing := missing_tools():
    pytest.skip(
        f"{', '.join(missing)} not installed (scripts/setup.sh --test installs them)",
        allow_module_level=True,
    )
pytest.importorskip("PIL.Image")

WAIT_S = 30.0  # generous: QEMU and the simulator share two cores with everything else
KINDS = ("display", "firmware")  # glasses-sim display: the Python simulator
Start = Callable[[str, str], SimulatorProcess]


@pytest.fixture(scope="module")
def elfs() -> dict[str, Path]:
    return {p: build_firmware(p) for p in ("128x64x1", "640x400x4")}


@pytest.fixture
def start(tmp_path: Path, elfs: dict[str, Path]) -> Iterator[Start]:
    """``start(kind, profile)``: the simulator or the firmware on ``tmp_path/tty-N``."""
    started: list[SimulatorProcess] = []

    def run(kind: str, profile: str) -> SimulatorProcess:
        n = len(started)
        args = ["--pty", "--link", str(tmp_path / f"tty-{n}"), "--web-port", "0", "-q"]
        args += ["--profile", profile]
        if kind == "firmware":
            args += ["--elf", str(elfs[profile])]
        device = SimulatorProcess(*args, log_path=tmp_path / f"{kind}-{n}.log", command=kind)
        started.append(device)
        return device

    yield run
    for device in started:
        device.stop()


def levels_shown(device: SimulatorProcess, bpp: int) -> Levels:
    grey = device.screen().astype(np.uint16)
    shown: Levels = (grey * ((1 << bpp) - 1) // 255).astype(np.uint8)
    return shown


def wait_screen(device: SimulatorProcess, expected: Levels, bpp: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while not np.array_equal(shown := levels_shown(device, bpp), expected):
        if time.monotonic() > deadline:
            wrong = np.argwhere(shown != expected)
            kind = "firmware" if "elf" in device.info else "simulator"
            raise AssertionError(f"{kind}: {len(wrong)} pixels differ, e.g. (y, x) {wrong[:5]}")
        time.sleep(0.02)  # polling another process: nothing to wait on


def caption_screens(height: int, width: int) -> list[Levels]:
    """Text lines scrolling up one 8-pixel line at a time (the compositor sends COPY)."""
    rng = np.random.default_rng(5)
    lines = [(rng.random((8, width)) < 0.3).astype(np.uint8) for _ in range(height // 8 + 3)]
    rows = height // 8
    return [np.vstack(lines[i : i + rows]) for i in range(4)]


def test_both_devices_report_the_same_board(start: Start) -> None:
    infos = []
    for kind in KINDS:
        device = start(kind, "128x64x1")
        with DisplayLink(LinkConfig(url=device.url), Compositor.for_device) as link:
            info = link.wait_connected(WAIT_S)
        infos.append({k: v for k, v in vars(info).items() if k != "session_id"})
    assert infos[0] == infos[1]
    assert infos[1]["board_id"] == "ssd1306-128x64" and infos[1]["max_payload"] == 256


@pytest.mark.parametrize("profile", ["128x64x1", "640x400x4"])
def test_glasses_show_draws_the_same_pixels_on_both(
    start: Start, profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glasses import cli

    monkeypatch.setattr(cli, "COMMAND_MODULES", ("glasses.commands.show",))
    bpp = int(profile[-1])
    screens = []
    for kind in KINDS:
        device = start(kind, profile)
        assert cli.main(["show", "Hello 你好 42", "--display", device.url, "--timeout", "30"]) == 0
        screens.append(levels_shown(device, bpp))
    assert np.count_nonzero(screens[0]) > 20, "some ink on the screen"
    assert np.array_equal(screens[0], screens[1])


@pytest.mark.parametrize("kind", KINDS)
def test_scroll_reset_and_a_button(start: Start, kind: str) -> None:
    device = start(kind, "128x64x1")
    screens = caption_screens(64, 128)
    # The host's plan for these screens scrolls with COPY (the same compositor as the link's).
    planner = Compositor(128, 64, 1, 256)
    planned = [planner.update(s) for s in screens]
    assert any(isinstance(m, Copy) for msgs in planned[1:] for m in msgs), planned[1]
    with DisplayLink(LinkConfig(url=device.url), Compositor.for_device) as link:
        link.wait_connected(WAIT_S)
        for screen in screens:
            link.show(screen)
            assert link.wait_presented(WAIT_S), link.stats
        wait_screen(device, screens[-1], 1)

        boots = device.state()["stats"]["device"]["boots"]
        link.reset()  # the device reboots with a blank panel; the link redraws it
        device.wait_state(lambda s: s["stats"]["device"]["boots"] > boots, WAIT_S, "a reboot")
        assert link.wait_presented(WAIT_S)
        wait_screen(device, screens[-1], 1)

        status, reply = device.post("/api/event", {"kind": "button", "action": "press"})
        assert status == 200 and reply["queued"], reply
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            event = link.get_event(1.0)
            message = event.message if event else None
            if isinstance(message, Event) and message.kind == EventKind.BUTTON:
                break
        else:
            raise AssertionError("no button event reached the host")
        assert (message.code, message.value) == (0, 1)  # button 0, pressed
        assert link.stats.errors_from_device == 0


@pytest.mark.parametrize("profile", ["128x64x1", "640x400x4"])
def test_glasses_conformance_passes_on_the_firmware_as_on_the_simulator(
    start: Start, profile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from glasses.cli import main

    statuses = []
    for kind in KINDS:
        device = start(kind, profile)
        assert device.web is not None
        screen = device.web + "/screen.png"
        code = main(["conformance", "--display", device.url, "--screen", screen, "--json"])
        report = json.loads(capsys.readouterr().out)
        assert code == 0 and [c for c in report["checks"] if c["status"] == "fail"] == []
        assert report["device"]["board_id"] == device.info["board_id"]
        statuses.append({c["name"]: c["status"] for c in report["checks"]})
    # Checks that a profile cannot run (a 254-byte COBS block past a 256-byte max payload)
    # are skipped on both alike.
    assert statuses[0] == statuses[1]
    assert list(statuses[1].values()).count("pass") >= len(statuses[1]) - 1


def test_glasses_flash_checks_the_signed_image_against_the_board(
    start: Start, elfs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("imgtool", reason="imgtool (MCUboot's signing tool) is not installed")
    from firmware_bridge.update.image import parse_image
    from glasses.cli import main
    from hw_sim.qemu_device import BUILD_DIR

    key = str(BUILD_DIR / "dev-key.pub.pem")
    mine, other = (BUILD_DIR / p / "firmware.img" for p in ("128x64x1", "640x400x4"))
    image = parse_image(mine.read_bytes())
    # The firmware linked for MCUboot's slot 0 (0x10000): its vector table after the header.
    vectors = np.frombuffer(image.body[:8], "<u4")
    assert image.hdr_size == 0x200 and vectors[0] == 0x20040000
    assert 0x10200 < vectors[1] < 0x50000 and image.board == "ssd1306-128x64"

    device = start("firmware", "128x64x1")
    assert main(["flash", str(other), "--port", device.url, "--key", key]) == 2
    err = capsys.readouterr().err
    assert "built for board 'glasses-proto-640', these glasses are 'ssd1306-128x64'" in err
    # Its own board's image passes the checks; the QEMU image has no bootloader to hand over to.
    assert main(["flash", str(mine), "--port", device.url, "--key", key]) == 2
    err = capsys.readouterr().err
    assert "ssd1306-128x64 runs 0.1.4; installing 0.1.4" in err
    assert "ENTER_BOOTLOADER refused, UNKNOWN_TYPE" in err


def test_a_firmware_that_dies_at_boot_is_reported_with_qemus_words(tmp_path: Path) -> None:
    from hw_sim.qemu_device import QemuDevice, QemuDeviceError

    bad = tmp_path / "firmware.elf"
    bad.write_bytes(b"not an image")  # QEMU loads it raw: no vector table, the core locks up
    with pytest.raises(QemuDeviceError, match=r"qemu-system-arm exited: (.|\n)*qemu: fatal"):
        QemuDevice(bad, link=tmp_path / "tty")
    assert not (tmp_path / "tty").exists()
