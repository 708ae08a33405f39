"""The handover of docs/protocol.md section 11 on the simulated MCU, driven as pure code:
ENTER_BOOTLOADER, SMP until a reset, the app's version from the booted image's header."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("smp", reason="the flash extra (smp, cryptography) is not installed")
pytest.importorskip("imgtool", reason="imgtool (MCUboot's signing tool) is not installed")

from flash_support.signing import KeyPair, app_image, make_key
from sim_support import exchange, session
from smp import os_management as smpos

from firmware_bridge.protocol import messages as m
from hw_sim.device import DisplayDevice
from hw_sim.events import ResetCause
from hw_sim.mcu import FirmwareConfig, FlashableDevice, Mode
from hw_sim.minihost import MiniHost
from hw_sim.profiles import get_profile
from hw_sim.smp_serial import SmpLineReader, encode_frame

pytestmark = pytest.mark.fast

PROFILE = get_profile("640x400x4")


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_key(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def v123(key: KeyPair, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return app_image(tmp_path_factory.mktemp("img"), key, "1.2.3").read_bytes()


def flashable(key: KeyPair, initial: bytes | None) -> FlashableDevice:
    return FlashableDevice(PROFILE, FirmwareConfig((key.public.read_bytes(),), initial))


def smp_echo(dev: DisplayDevice, now_s: float) -> bytes:
    """Send an SMP echo; the SMP messages the device answered with."""
    dev.receive_bytes(encode_frame(smpos.EchoWriteRequest(sequence=7, d="hi").BYTES), now_s)
    return b"".join(SmpLineReader().feed(dev.poll(now_s)))


def test_a_display_without_bootloader_refuses_the_handover() -> None:
    dev = DisplayDevice(PROFILE)
    host = session(dev)
    got = exchange(host, dev, 0.0)
    host.send(m.EnterBootloader(idle_timeout_s=5))
    got = exchange(host, dev, 0.01)
    errors = [x for x in got if isinstance(x, m.Error)]
    assert errors and errors[0].reason == m.Reason.UNKNOWN_TYPE and errors[0].ref_type == 0x30
    assert dev.session


def test_hello_ack_reports_the_version_in_the_booted_image_header(
    key: KeyPair, v123: bytes
) -> None:
    host = session(flashable(key, v123))
    assert host.hello_ack is not None and host.hello_ack.fw_version == (1, 2, 3)


def test_the_factory_image_boots_with_the_profile_version(key: KeyPair) -> None:
    dev = flashable(key, None)
    host = session(dev)
    assert host.hello_ack is not None and host.hello_ack.fw_version == PROFILE.fw_version
    assert dev.mode is Mode.APP


def test_a_bad_magic_is_refused_and_the_session_goes_on(key: KeyPair, v123: bytes) -> None:
    dev = flashable(key, v123)
    host = session(dev)
    host.send(m.EnterBootloader(magic=0x12345678))
    got = exchange(host, dev, 0.01)
    assert [x.reason for x in got if isinstance(x, m.Error)] == [m.Reason.BAD_PAYLOAD]
    assert dev.mode is Mode.APP and dev.session


def test_after_the_ack_only_smp_until_the_idle_timeout(key: KeyPair, v123: bytes) -> None:
    dev = flashable(key, v123)
    host = session(dev)
    host.send(m.EnterBootloader(idle_timeout_s=2))
    exchange(host, dev, 0.1)
    assert dev.mode is Mode.SMP and host.arq.idle, "ENTER_BOOTLOADER acknowledged"
    host.send(m.Ping(1))
    assert exchange(host, dev, 0.2) == []  # the display protocol is gone
    reply = smp_echo(dev, 0.3)
    assert smpos.EchoWriteResponse.loads(reply).r == "hi"
    assert dev.poll(2.2) == b""  # the echo restarted the idle timer
    boot = dev.poll(2.4)  # no SMP for 2 s: reset into the application
    assert dev.mode is Mode.APP and dev.reset_cause is ResetCause.WATCHDOG
    assert m.Nak(0, m.Reason.NO_SESSION) in MiniHost().feed(boot, 2.4)


def test_an_smp_reset_boots_the_application_again(key: KeyPair, v123: bytes) -> None:
    dev = flashable(key, v123)
    host = session(dev)
    host.send(m.EnterBootloader())
    exchange(host, dev, 0.1)
    dev.receive_bytes(encode_frame(smpos.ResetWriteRequest(sequence=3).BYTES), 0.2)
    answer = b"".join(SmpLineReader().feed(dev.poll(0.2)))
    assert smpos.ResetWriteResponse.loads(answer).header.sequence == 3
    dev.poll(0.3)
    assert dev.mode is Mode.APP and dev.reset_cause is ResetCause.RESET_MESSAGE
    again = session(dev, 0.3)
    boots = [x for x in again.received if isinstance(x, m.Event) and x.kind == m.EventKind.BOOT]
    assert [b.code for b in boots] == [ResetCause.RESET_MESSAGE]


def test_a_silent_app_is_reset_by_its_watchdog(key: KeyPair, tmp_path: Path) -> None:
    silent = app_image(tmp_path, key, "2.0.0", behaviour="silent").read_bytes()
    dev = flashable(key, silent)
    assert dev.mode is Mode.HUNG and dev.poll(0.0) == b""
    dev.receive_bytes(MiniHost().poll(0.0) or b"\x00", 0.1)
    dev.poll(FirmwareConfig(()).watchdog_s)
    assert dev.stats.boots == 2 and dev.reset_cause is ResetCause.WATCHDOG
