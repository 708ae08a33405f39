"""``glasses flash`` end to end: the real smpclient talks to the simulator process through a
real pty. Images are signed with imgtool (the CLI through scripts/sign_firmware.sh, and the
library); keys are generated here.

Covered: sign, flash, health check, confirm, list; refusals before anything is sent; a new
image that never answers (watchdog revert) or fails the PING check (reset and revert); power
cuts in the simulator process during the upload and the swap, after which the flash resumes.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

pytest.importorskip("smpclient", reason="the flash extra (smpclient) is not installed")
pytest.importorskip("imgtool", reason="imgtool (MCUboot's signing tool) is not installed")

from flash_support.signing import KeyPair, app_image, make_key, sign

from glasses.cli import main
from hw_sim.firmware import build_app
from hw_sim.launcher import SimulatorProcess

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "sign_firmware.sh"
IMGTOOL = Path(sys.executable).with_name("imgtool")


@dataclass(frozen=True)
class Kit:
    dir: Path
    key: KeyPair
    v1: Path  # 1.0.0: what the simulated glasses start with

    def image(self, version: str, **kwargs: object) -> Path:
        return app_image(self.dir, self.key, version, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    d = tmp_path_factory.mktemp("flash")
    key = make_key(d)
    return Kit(d, key, app_image(d, key, "1.0.0"))


Start = Callable[..., SimulatorProcess]
_LOGS: dict[str, Path] = {}  # simulator port -> its log file


def launch(*args: str, log: Path) -> SimulatorProcess:
    sim = SimulatorProcess(*args, log_path=log)
    _LOGS[sim.url] = log
    return sim


@pytest.fixture
def start_sim(kit: Kit, tmp_path: Path) -> Iterator[Start]:
    sims: list[SimulatorProcess] = []

    def start(
        *extra: str, key: Path | None = None, initial: Path | None = kit.v1
    ) -> SimulatorProcess:
        args = [
            "--pty",
            "--no-web",
            "--bootloader-key",
            str(key or kit.key.public),
            "--watchdog",
            "1",
        ]
        if initial is not None:
            args += ["--initial-image", str(initial)]
        sim = launch(*args, *extra, log=tmp_path / f"sim{len(sims)}.log")
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        sim.stop()


def flash(
    capsys: pytest.CaptureFixture[str], sim: SimulatorProcess, *args: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["flash", "--port", sim.url, "--boot-timeout", "5", "--revert-wait", "5", *args])
    out, err = capsys.readouterr()
    return code, out, err


def sim_log(sim: SimulatorProcess) -> str:
    return _LOGS[sim.url].read_text()


def hash_of(image: Path) -> str:
    """The hash as ``glasses flash --list`` shows it."""
    from firmware_bridge.update.image import parse_image

    digest = parse_image(image.read_bytes()).hash_tlv
    assert digest is not None
    return digest.hex()[:16] + "…"


def slots(capsys: pytest.CaptureFixture[str], sim: SimulatorProcess, key: Path) -> list[list[str]]:
    code, out, _ = flash(capsys, sim, "--list", "--key", str(key))
    assert code == 0
    return [line.split() for line in out.splitlines()[1:]]


def test_sign_with_the_script_then_flash_confirm_and_list(
    kit: Kit, start_sim: Start, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = {**os.environ, "IMGTOOL": str(IMGTOOL)}

    def run(*args: str) -> None:
        subprocess.run(["bash", str(SCRIPT), *args], env=env, check=True, capture_output=True)

    run("keygen", str(tmp_path / "project"))
    body = tmp_path / "app.bin"
    body.write_bytes(build_app(3000, seed=7))
    image = tmp_path / "app-1.1.0.img"
    run("sign", str(tmp_path / "project.pem"), "1.1.0", "glasses-proto-640", str(body), str(image))
    pub = tmp_path / "project.pub.pem"
    sim = start_sim(key=pub, initial=None)  # the built-in factory image, version 0.3.0

    code, out, err = flash(capsys, sim, str(image), "--key", str(pub))
    assert code == 0, err
    assert "flashed 1.1.0" in out and "confirmed" in out
    assert "runs 0.3.0" in err and "100%" in err and "health check passed" in err
    rows = slots(capsys, sim, pub)
    assert rows[0] == ["0", "1.1.0", "active", "confirmed", hash_of(image)]
    assert rows[1][:3] == ["1", "0.3.0", "-"]
    code, out, _ = flash(capsys, sim, str(image), "--key", str(pub))
    assert code == 0 and "already installed" in out


REFUSALS = {
    "tampered": "was modified after signing",
    "unsigned": "not signed",
    "other_key": "not a trusted key",
    "bad_signature": "does not verify",
    "wrong_board": "built for board 'glasses-strip-576'",
    "downgrade": "older than the running 1.0.0",
    "raw_binary": "not an MCUboot image",
    "no_board": "does not say which board",
    # HELLO_ACK carries one byte per version part: 1.1.300 could never be seen running.
    "big_revision": "version 1.1.300 does not fit the firmware version the glasses report",
}


def refused_image(kit: Kit, kind: str) -> Path:
    d, out = kit.dir, kit.dir / f"refused-{kind}.img"
    body = build_app(2000, seed=3)
    if kind == "tampered":
        data = bytearray(kit.image("1.1.0").read_bytes())
        data[100] ^= 0x20  # one bit of the body
        out.write_bytes(bytes(data))
    elif kind == "unsigned":
        sign(body, None, "1.1.0", out)
    elif kind == "other_key":
        sign(body, make_key(d, "other"), "1.1.0", out)
    elif kind == "bad_signature":
        data = bytearray(kit.image("1.1.0").read_bytes())
        data[-10] ^= 0x01  # inside the signature TLV, the last one imgtool writes
        out.write_bytes(bytes(data))
    elif kind == "wrong_board":
        sign(body, kit.key, "1.1.0", out, board="glasses-strip-576")
    elif kind == "downgrade":
        sign(body, kit.key, "0.9.0", out)
    elif kind == "raw_binary":
        out.write_bytes(body)
    elif kind == "big_revision":
        sign(body, kit.key, "1.1.300", out)
    else:
        sign(body, kit.key, "1.1.0", out, board=None)
    return out


@pytest.fixture(scope="module")
def shared_sim(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    log = tmp_path_factory.mktemp("sim") / "sim.log"
    args = ["--pty", "--no-web", "--bootloader-key", str(kit.key.public)]
    sim = launch(*args, "--initial-image", str(kit.v1), log=log)
    yield sim
    sim.stop()


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_bad_images_are_refused_before_anything_is_sent(
    kind: str, kit: Kit, shared_sim: SimulatorProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    image = refused_image(kit, kind)
    code, out, err = flash(capsys, shared_sim, str(image), "--key", str(kit.key.public))
    assert code == 2 and out == ""
    assert REFUSALS[kind] in err and err.count("glasses: error: refusing") == 1
    assert "ENTER_BOOTLOADER" not in sim_log(shared_sim), "the bootloader was asked in"


def test_firmware_without_the_handover_is_reported(
    kit: Kit, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with launch("--pty", "--no-web", log=tmp_path / "plain.log") as sim:
        image = kit.image("1.1.0")
        code, _, err = flash(
            capsys, sim, str(image), "--key", str(kit.key.public), "--allow-downgrade"
        )
    assert code == 2
    assert "cannot hand the port over" in err and "UNKNOWN_TYPE" in err


def crash_before_confirming(sim: SimulatorProcess, image: Path) -> None:
    """What a host that dies right after the test reset leaves behind: an unconfirmed image."""
    from firmware_bridge.update.image import parse_image
    from glasses.flashing.device import Device, FlashSettings

    async def run() -> None:
        device = Device(FlashSettings(port=sim.url))
        await device.to_smp(await device.probe(3.0))
        async with device.smp() as smp:
            async for _ in smp.upload(image.read_bytes()):
                pass
            digest = parse_image(image.read_bytes()).hash_tlv
            assert digest is not None
            await smp.mark_test(digest)
            await smp.reset()

    asyncio.run(run())


def test_a_flash_cut_short_before_its_confirmation_is_finished_later(
    kit: Kit, start_sim: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    sim, key = start_sim(), ["--key", str(kit.key.public)]
    crash_before_confirming(sim, kit.image("1.1.0"))
    # Another image: the unconfirmed one is reverted first, then the new one goes in.
    code, out, err = flash(capsys, sim, str(kit.image("1.2.0")), *key)
    assert code == 0, err
    assert "unconfirmed test image (1.1.0); resetting" in err and "flashed 1.2.0" in out
    # The same image again: it runs and answers, so it only needs its confirmation.
    crash_before_confirming(sim, kit.image("1.3.0"))
    code, out, err = flash(capsys, sim, str(kit.image("1.3.0")), *key)
    assert code == 0, err
    assert "1.3.0 was running on test; confirmed it" in err and "already installed" in out
    assert slots(capsys, sim, kit.key.public)[0][:4] == ["0", "1.3.0", "active", "confirmed"]


def test_a_new_image_that_never_answers_is_reverted(
    kit: Kit, start_sim: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = start_sim()
    key = ["--key", str(kit.key.public), "--ping-timeout", "0.5"]
    code, _, err = flash(capsys, sim, str(kit.image("1.3.0", behaviour="silent")), *key)
    assert code == 2
    assert "1.3.0 hung at start" in err and "reverted them to 1.0.0" in err
    code, _, err = flash(capsys, sim, str(kit.image("1.4.0", behaviour="no-pong")), *key)
    assert code == 2
    assert "answered HELLO but not PING" in err and "reverted the glasses to 1.0.0" in err
    rows = slots(capsys, sim, kit.key.public)
    assert rows[0][:4] == ["0", "1.0.0", "active", "confirmed"]


@pytest.mark.parametrize("case", range(3))
def test_power_cuts_in_the_simulator_process_and_the_flash_resumes(
    case: int, kit: Kit, start_sim: Start, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(7_000 + case)
    smp_units, boot_units = rng.randrange(50, 3_200), rng.randrange(1, 12_000)
    sim = start_sim(
        "--cut-power-smp", str(smp_units), "--cut-power-boot", str(boot_units), "--power-off", "0.2"
    )
    image = kit.image("1.2.0")
    code, out, err = flash(
        capsys, sim, str(image), "--key", str(kit.key.public), "--smp-timeout", "0.5"
    )
    assert code == 0, err
    assert "flashed 1.2.0" in out and "interrupted" in err
    log = sim_log(sim)
    assert log.count("power cut") == 2, log
    assert "resuming TEST" in log or "swap TEST over" in log
    # The device logs its progress after each chunk (about 940 bytes); a cut before the first
    # entry starts the upload over, any later one resumes at the last entry.
    assert ("resumes at" in log) == (smp_units > 1_000), log
    assert slots(capsys, sim, kit.key.public)[0][:4] == ["0", "1.2.0", "active", "confirmed"]


@pytest.mark.parametrize("step", ["health check", "confirm", "confirm in SMP"])
def test_a_port_lost_after_the_upload_is_one_line_and_the_next_run_finishes(
    step: str,
    kit: Kit,
    start_sim: Start,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The port goes away (PortLostError, as the transport raises it when the cable is pulled)
    during the health check, at the start of the confirm step, or right after the glasses
    acknowledged ENTER_BOOTLOADER for the confirmation (they are left in SMP)."""
    from firmware_bridge.errors import PortLostError
    from glasses.flashing import device as device_module
    from glasses.flashing.display_probe import DisplayProbe
    from glasses.flashing.flasher import Flasher

    armed = {"on": False}

    def lose(url: str) -> NoReturn:
        armed["on"] = False
        raise PortLostError(f"{url}: read failed: [Errno 5] Input/output error")

    class LossyProbe(DisplayProbe):
        def _send(self, msg: object, seq: int = 0) -> None:
            if armed["on"] and step != "confirm in SMP":
                lose(self.url)
            super()._send(msg, seq)  # type: ignore[arg-type]

        def enter_bootloader(self, idle_timeout_s: int, timeout_s: float) -> bool:
            accepted = super().enter_bootloader(idle_timeout_s, timeout_s)
            if armed["on"] and accepted:
                lose(self.url)
            return accepted

    real_health, real_confirm = Flasher._check_health, Flasher._confirm

    async def check_health(self: Flasher) -> None:
        armed["on"] = step == "health check"
        await real_health(self)

    async def confirm(self: Flasher) -> None:
        armed["on"] = step != "health check"
        await real_confirm(self)

    sim, key = start_sim(), ["--key", str(kit.key.public)]
    image = str(kit.image("1.1.0"))
    with monkeypatch.context() as patch:
        patch.setattr(device_module, "DisplayProbe", LossyProbe)
        patch.setattr(Flasher, "_check_health", check_health)
        patch.setattr(Flasher, "_confirm", confirm)
        code, out, err = flash(capsys, sim, image, *key)
    assert code == 2 and out == "" and "Traceback" not in err
    message = err.splitlines()[-1]
    assert message.startswith("glasses: error: lost the glasses"), err
    assert "the port went away" in message and "not confirmed" in message
    assert "run the same command again" in message
    code, out, err = flash(capsys, sim, image, *key)
    assert code == 0, err
    if step == "confirm in SMP":
        # Left in SMP, the test image cannot be health-checked: MCUboot reverts it at the
        # reset, then it is installed again.
        assert "unconfirmed test image (1.1.0); resetting" in err and "flashed 1.1.0" in out
    else:
        assert "1.1.0 was running on test; confirmed it" in err
    assert slots(capsys, sim, kit.key.public)[0][:4] == ["0", "1.1.0", "active", "confirmed"]


def test_an_image_the_bootloader_does_not_boot_is_reported_as_seen(
    kit: Kit, start_sim: Start, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The host trusts a key the bootloader does not: the glasses come back with the previous
    version, and the message says so, without guessing why."""
    other = make_key(tmp_path, "host-only")
    image = tmp_path / "other-1.1.0.img"
    sign(build_app(2000, seed=5), other, "1.1.0", image)
    sim = start_sim()
    keys = ["--key", str(kit.key.public), "--key", str(other.public)]
    code, out, err = flash(capsys, sim, str(image), *keys)
    assert code == 2 and out == ""
    message = err.splitlines()[-1]
    assert "the glasses run 1.0.0 again, not 1.1.0" in message, err
    assert "did not boot the new image and kept the previous firmware" in message
    assert "signature" not in message and "hash" not in message
