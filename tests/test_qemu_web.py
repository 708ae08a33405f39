"""The firmware device's web API (``glasses-sim firmware``) treats the browser as the
simulator's does: it subclasses the simulator's handler, so a cross-site simple request, a
foreign ``Origin`` and a rebound ``Host`` are refused before anything reaches the board. The
board here is a stand-in that records what reaches it: the object under test is the handler,
not QEMU (test_firmware_qemu.py runs the real firmware)."""

from __future__ import annotations

from typing import Any

import pytest
from test_sim_web import post_json, request

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
