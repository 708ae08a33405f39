"""``glasses mode`` switching a running daemon through its control socket: the request
handling on a fake daemon, then a real ``glasses run`` subprocess on the simulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from process_support import wait_for
from runtime_support import FakeDaemon, ask

from glasses.display.views import Mode
from glasses.errors import GlassesError
from glasses.pipeline.messages import Intent, SetMode, UserInput
from glasses.runtime.control_socket import (
    ControlServer,
    DaemonControls,
    control_socket_path,
    send_request,
)
from glasses.runtime.status import UnsafeDirectory, private_dir, write_status

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 20.0


def test_requests_become_the_buttons_messages() -> None:
    daemon = FakeDaemon((Mode.CAPTIONS, Mode.TRANSLATE))
    assert ask(daemon, b'{"mode": "translate"}\n') == {"ok": True, "mode": "translate"}
    assert ask(daemon, b'{"mode": "NEXT"}\n') == {"ok": True, "mode": "captions"}
    assert daemon.routed == [SetMode(Mode.TRANSLATE), UserInput(Intent.NEXT_MODE, 7.0)]
    refused = ask(daemon, b'{"mode": "read"}\n')
    assert not refused["ok"] and "not enabled" in refused["error"]
    for garbage in (b"", b"mode read\n", b'{"mode": 3}\n', b"[1]\n"):
        assert not ask(daemon, garbage)["ok"]
    daemon.state = "starting"
    assert "not ready" in ask(daemon, b'{"mode": "next"}\n')["error"]
    assert len(daemon.routed) == 2  # nothing refused reached the daemon


def test_no_daemon_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GlassesError, match="is `glasses run` running"):
        send_request(tmp_path / "status.sock", {"mode": "next"})


# -- where the socket and the status file go -------------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770, 0o702])
def test_a_directory_others_may_write_into_is_refused(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "glasses-0"
    shared.mkdir()
    shared.chmod(mode)
    server = ControlServer(
        shared / "status.sock", DaemonControls(FakeDaemon((Mode.CAPTIONS,)), time.monotonic)
    )
    with pytest.raises(UnsafeDirectory, match=r"writable by other users .*chmod 700"):
        asyncio.run(server.start())
    with pytest.raises(UnsafeDirectory, match="writable by other users"):
        write_status(shared / "status.json", {"state": "running"})
    assert sorted(shared.iterdir()) == []


def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    mine = tmp_path / "glasses-1000"
    assert private_dir(mine) == mine and stat.S_IMODE(mine.stat().st_mode) == 0o700
    with pytest.raises(UnsafeDirectory, match=rf"belongs to uid {os.getuid()}, not to this user"):
        private_dir(mine, uid=os.getuid() + 1)
    if os.getuid() == 0:  # root can hand the directory to someone else, as an attacker would
        os.chown(mine, 4321, -1)
        with pytest.raises(UnsafeDirectory, match="belongs to uid 4321"):
            write_status(mine / "status.json", {"state": "running"})


@pytest.mark.parametrize("command", [["status"], ["mode", "next"]])
def test_the_clients_refuse_a_directory_others_may_write_into(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    from glasses.cli import main

    shared = tmp_path / "glasses"
    shared.mkdir()
    (shared / "status.json").write_text(json.dumps({"state": "running", "pid": os.getpid()}))
    shared.chmod(0o777)  # as another user could have left it, with a status file of theirs
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert main(command) == 2
    assert "writable by other users" in capsys.readouterr().err
    shared.chmod(0o700)
    assert main(["status"]) == 0  # the same file, in a directory that is this user's alone


def test_a_reply_that_never_ends_is_cut_not_hoarded(tmp_path: Path) -> None:
    import socket
    import threading

    path = tmp_path / "status.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)

        hung_up: list[bool] = []

        def flood() -> None:
            conn, _ = listener.accept()
            with conn:
                try:
                    for _ in range(4096):  # 16 MiB without a newline, if nobody stops reading
                        conn.sendall(b"x" * 4096)
                except OSError:
                    hung_up.append(True)  # the client stopped reading: what it should do

        sender = threading.Thread(target=flood)
        sender.start()
        with pytest.raises(GlassesError, match="unexpected reply"):
            send_request(path, {"mode": "next"})
        sender.join(WAIT_S)
        assert not sender.is_alive() and hung_up == [True]


def test_a_file_planted_at_the_socket_path_does_not_stop_the_daemon(tmp_path: Path) -> None:
    from glasses.commands.run import _serve

    planted = tmp_path / "status.sock"
    planted.write_text("not a socket")

    class Daemon(FakeDaemon):
        ran = False

        def clock(self) -> float:
            return 0.0

        async def run(self, stop: asyncio.Event) -> None:
            self.ran = True

    daemon = Daemon((Mode.CAPTIONS,))
    with pytest.raises(OSError, match="exists and is not a socket"):
        asyncio.run(ControlServer(planted, DaemonControls(daemon, daemon.clock)).start())
    asyncio.run(_serve(daemon, planted))  # logs a warning, runs without `glasses mode`
    assert daemon.ran and planted.read_text() == "not a socket"


# -- against `glasses run` -----------------------------------------------------------------------


def glasses(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glasses.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture
def sim(sim_process: Callable[..., Any]) -> Any:
    return sim_process("--profile", "128x64x1", "-q")


def test_mode_switches_a_running_daemon(sim: Any, tmp_path: Path) -> None:
    status_file = tmp_path / "status.json"
    sock = control_socket_path(status_file)
    env = {**os.environ, "GLASSES_SENSEVOICE_DIR": ""}
    argv = [sys.executable, "-m", "glasses.cli", "run", "--display", sim.url, "--no-audio"]
    argv += ["--set", f"log.status_file={status_file}", "--set", "log.status_interval_s=0.2"]
    argv += ["--set", "llm.model=", "--mode", "captions"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)

    def status() -> dict[str, Any]:
        return json.loads(status_file.read_text()) if status_file.exists() else {}

    try:
        wait_for(lambda: status().get("state") == "running", "the daemon to run")
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        switched = glasses("mode", "translate", "--file", str(status_file))
        assert (switched.returncode, switched.stdout) == (0, "mode translate\n"), switched.stderr
        wait_for(lambda: status().get("mode") == "translate", "the status to show translate")
        assert glasses("mode", "NEXT", "--file", str(status_file)).stdout == "mode read\n"
        assert glasses("mode", "next", "--file", str(status_file)).stdout == "mode assist\n"
        wrong = glasses("mode", "teleport", "--file", str(status_file))
        assert wrong.returncode == 2 and "invalid choice" in wrong.stderr
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=10)
    assert code == 0, stderr
    assert not sock.exists()  # removed on the way out
    gone = glasses("mode", "next", "--file", str(status_file))
    assert gone.returncode == 2 and "is `glasses run` running?" in gone.stderr
