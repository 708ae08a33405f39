"""``glasses-sim display`` as a subprocess: READY line, pty / TCP, web API, unplug, SIGTERM.

Everything waits by polling with a deadline; nothing sleeps for a fixed long time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import serial
from PIL import Image
from process_support import wait_for

from firmware_bridge.protocol import messages as m
from hw_sim.launcher import SimulatorProcess, SimulatorStartError
from hw_sim.minihost import MiniHost, blit

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., SimulatorProcess]]:
    """``start(*args)``: a ``glasses-sim display`` process, logging to ``tmp_path/sim.log``;
    all of them are stopped (SIGTERM) at teardown."""
    sims: list[SimulatorProcess] = []

    def _start(*args: str) -> SimulatorProcess:
        sims.append(SimulatorProcess(*args, log_path=tmp_path / "sim.log", cwd=ROOT))
        return sims[-1]

    yield _start
    for sim in sims:
        sim.stop()


def open_port(url: str) -> serial.SerialBase:
    return serial.serial_for_url(url, baudrate=921600, timeout=0.01)


def converse(
    port: serial.SerialBase, host: MiniHost, until: Callable[[], bool], timeout_s: float = 10
) -> None:
    """Play the host over a real port until ``until()`` holds."""
    deadline = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("the device did not answer in time")
        now = time.monotonic()
        out = host.poll(now)
        if out:
            port.write(out)
        data = port.read(max(1, port.in_waiting))
        if data:
            host.feed(data, now)


def handshake(port: serial.SerialBase, max_payload: int = 4096) -> MiniHost:
    host = MiniHost(max_payload=max_payload)
    host.hello()
    converse(port, host, lambda: host.hello_ack is not None)
    return host


def test_pty_draw_screen_png_and_web_api(
    start: Callable[..., SimulatorProcess], tmp_path: Path
) -> None:
    link = tmp_path / "tty"
    saved = tmp_path / "saved"
    sim = start("--pty", "--link", str(link), "--web-port", "0", "--save-dir", str(saved))
    assert sim.info["url"] == str(link) and link.is_symlink()
    assert sim.info["profile"] == "640x400x4" and sim.info["web"].startswith("http://127.0.0.1:")
    with open_port(sim.info["url"]) as port:
        host = handshake(port)
        assert host.hello_ack is not None and host.hello_ack.board_id == "glasses-proto-640"
        rng = np.random.default_rng(3)
        a = rng.integers(0, 16, (32, 64), dtype=np.uint8)
        b = np.full((8, 40), 11, np.uint8)
        host.send(blit(a, 16, 8, 4))
        host.send(blit(b, 600, 392, 4, m.Encoding.PACKBITS))
        host.send(m.Present(77))
        converse(port, host, lambda: host.arq.idle)
        wait_for(lambda: sim.state()["frame_id"] == 77, what="the published frame")
        expected = np.zeros((400, 640), np.uint8)
        expected[8:40, 16:80] = a
        expected[392:400, 600:640] = b
        assert np.array_equal(sim.screen(), expected * 17)
        state = sim.state()
        assert state["session"] is True and state["presents"] == 1
        assert (state["width"], state["height"], state["bpp"]) == (640, 400, 4)
        assert {"sleeping", "brightness", "stats", "url"} <= state.keys()

        assert b'id="btn-press"' in sim.get("/")
        status, reply = sim.post("/api/event", {"kind": "button", "action": "long_press"})
        assert status == 200 and reply["queued"] is True
        press = m.Event(m.EventKind.BUTTON, 0, m.ButtonAction.LONG_PRESS)
        converse(
            port,
            host,
            lambda: any(isinstance(x, m.Event) and x.kind == press.kind for x in host.received),
        )

    status, reply = sim.post("/api/faults", {"latency_ms": 5, "direction": "to_host"})
    assert status == 200 and reply["faults"]["to_host"]["latency_ms"] == 5
    assert reply["faults"]["to_device"]["latency_ms"] == 0
    status, reply = sim.post("/api/snapshot", {})
    assert status == 200 and reply["name"].startswith("snapshot-"), reply
    assert np.array_equal(np.asarray(Image.open(saved / reply["name"])), expected * 17)
    assert sim.post("/api/event", {"kind": "laser"})[0] == 400
    assert sim.post("/api/faults", {"drop_rate": 2})[0] == 400
    assert sim.post("/api/nothing", {})[0] == 404


def test_tcp_socket_url(start: Callable[..., SimulatorProcess]) -> None:
    sim = start("--tcp", "0", "--profile", "128x64x1", "--web-port", "0")
    assert sim.info["url"].startswith("socket://127.0.0.1:")
    with open_port(sim.info["url"]) as port:
        host = handshake(port, max_payload=1024)
        assert host.hello_ack is not None and (host.hello_ack.width_px, host.hello_ack.bpp) == (
            128,
            1,
        )
        levels = np.zeros((64, 128), np.uint8)
        levels[10:20, 8:120] = 1
        for y in range(0, 64, 8):  # 256-byte receive buffer: an eighth of the screen per BLIT
            host.send(blit(levels[y : y + 8], 0, y, 1))
        host.send(m.Present(1))
        converse(port, host, lambda: host.arq.idle)
    wait_for(lambda: sim.state()["frame_id"] == 1)
    assert np.array_equal(sim.screen(), levels * 255)


def test_unplug_removes_the_link_and_a_new_pty_comes_back(
    start: Callable[..., SimulatorProcess], tmp_path: Path
) -> None:
    link = tmp_path / "tty"
    sim = start("--pty", "--link", str(link), "--web-port", "0")
    first = os.readlink(link)
    with open_port(str(link)) as port:
        handshake(port)
        assert sim.post("/api/unplug", {"duration_s": 0.5})[0] == 200
        wait_for(lambda: not link.exists() and not link.is_symlink(), what="the link to vanish")

        def port_failed() -> bool:
            try:
                port.read(1)
            except (serial.SerialException, OSError):
                return True
            return False

        wait_for(port_failed, what="the old port to fail")
    wait_for(link.is_symlink, what="the link to come back")
    assert Path(os.readlink(link)).exists() and sim.state()["plugged"] is True
    with open_port(str(link)) as port:
        handshake(port)
    assert sim.state()["stats"]["device"]["boots"] == 2
    assert sim.state()["stats"]["link"]["unplugs"] == 1
    assert first.startswith("/dev/pts/")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_exits_cleanly_and_removes_the_link(
    start: Callable[..., SimulatorProcess], tmp_path: Path, sig: signal.Signals
) -> None:
    link = tmp_path / "tty"
    sim = start("--pty", "--link", str(link), "--no-web")
    assert sim.info["web"] is None and link.is_symlink()
    sim.proc.send_signal(sig)
    assert sim.stop() == 0
    assert not link.exists() and not link.is_symlink()
    assert sim.log_path is not None and "Traceback" not in sim.log_path.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--script", "1 dance"], "bad script step"),
        (["--link", "{tmp}/file"], "not a symlink"),  # never clobbers a real file
        (["--tcp", "0", "--link", "{tmp}/tty"], "--link needs --pty"),
    ],
)
def test_bad_arguments_fail_fast(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "file").write_text("keep me")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "hw_sim.cli", "display", "--no-web", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 2 and message in result.stderr
    assert result.stdout == "" and (tmp_path / "file").read_text() == "keep me"


def test_a_start_failure_names_the_error_without_the_usage_text(tmp_path: Path) -> None:
    with pytest.raises(SimulatorStartError) as failed:
        SimulatorProcess("--no-web", "--profile", "999x1x1", log_path=tmp_path / "sim.log")
    message = str(failed.value)
    assert "999x1x1" in message and "usage:" not in message, message
    assert len(message.splitlines()) == 1, message
