"""The firmware device's web API (``glasses-sim firmware``) treats the browser as the
simulator's does: it subclasses the simulator's handler, so a cross-site simple request, a
foreign ``Origin`` and a rebound ``Host`` are refused before anything reaches the board. The
board here is a stand-in that records what reaches it: the object under test is the handler,
not QEMU (test_firmware_qemu.py runs the real firmware). /api/unplug and /api/faults reach a
real fault relay, on a pty pair standing for QEMU's UART."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from test_sim_web import post_json, request

from hw_sim.fault_relay import FaultRelay
from hw_sim.faults import FaultSettings
from hw_sim.qemu_web import FirmwareWebServer

pytestmark = pytest.mark.network


class Board:
    def __init__(self) -> None:
        self.url = "/dev/pts/99"
        self.panel = {"width": 128, "height": 64, "bpp": 1}
        self.calls: list[tuple[Any, ...]] = []

    def reset(self) -> None:
        self.calls.append(("reset",))

    def post_event(self, kind: int, code: int, value: int) -> bool:
        self.calls.append(("event", kind, code, value))
        return True


@pytest.fixture
def served() -> Any:
    board = Board()
    server = FirmwareWebServer(board, port=0)  # type: ignore[arg-type]
    server.start()
    yield server.url, board
    server.close()


def test_hostile_requests_never_reach_the_board(served: tuple[str, Board]) -> None:
    url, board = served
    assert request(url, "POST", "/api/reboot", "{}", {"Content-Type": "text/plain"})[0] == 415
    assert post_json(url, "/api/reboot", "{}", Origin="https://evil.example")[0] == 403
    assert post_json(url, "/api/reboot", "{}", Host="evil.example")[0] == 421
    assert board.calls == []
    # The page itself (same origin) and tools (no Origin) still reboot it.
    assert post_json(url, "/api/reboot", "{}", Origin=url)[0] == 200
    assert post_json(url, "/api/reboot", "{}")[0] == 200
    assert board.calls == [("reset",), ("reset",)]


def test_unplug_and_faults_go_to_the_relay_and_slow_ms_is_refused(tmp_path: Path) -> None:
    board_end, uart = os.openpty()  # stands for QEMU's UART pty
    relay = FaultRelay(os.ttyname(uart), link=tmp_path / "tty")
    relay.start()
    server = FirmwareWebServer(Board(), port=0, relay=relay)  # type: ignore[arg-type]
    server.start()
    try:
        code, reply = post_json(server.url, "/api/faults", '{"drop_rate": 0.25}')
        assert code == 200 and reply["faults"] == relay.faults.settings.as_dict()
        assert relay.faults.settings == FaultSettings.both_ways(drop_rate=0.25)
        code, reply = post_json(server.url, "/api/faults", '{"slow_ms": 5}')
        assert code == 400 and "slow_ms is the simulator's alone" in str(reply["error"])
        assert post_json(server.url, "/api/unplug", '{"duration_s": 60}')[0] == 200
        assert not relay.port.plugged and not (tmp_path / "tty").exists()  # gone on reply
        assert post_json(server.url, "/api/unplug", '{"duration_s": -1}')[0] == 400
    finally:
        server.close()
        relay.close()
        os.close(board_end)
        os.close(uart)


def test_without_a_relay_there_is_no_cable_to_pull(served: tuple[str, Board]) -> None:
    url, board = served
    code, reply = post_json(url, "/api/unplug", "{}")
    assert code == 404 and "needs the fault relay" in str(reply["error"]) and board.calls == []
