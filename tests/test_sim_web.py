"""The simulator's web API treats the browser as hostile (raw HTTP against a real simulator).

Any page the developer visits can send "simple" cross-site requests (``text/plain`` POSTs
with its own ``Origin``) and can rebind a DNS name to 127.0.0.1 (its own ``Host``). Such
requests change nothing; snapshots never write where a request says; bodies and requests are
bounded in size and time; fault values must be finite numbers.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from firmware_bridge.compositor import Compositor
from firmware_bridge.config import LinkConfig
from firmware_bridge.link import DisplayLink
from hw_sim import web
from hw_sim.launcher import SimulatorProcess
from hw_sim.profiles import get_profile
from hw_sim.server import SimConfig, Simulator
from hw_sim.web import WebServer

pytestmark = pytest.mark.process

WAIT_S = 10.0
Reply = tuple[int, dict[str, object]]


def address(sim_web: str) -> tuple[str, int]:
    parts = urlsplit(sim_web)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def request(
    sim_web: str,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request as raw as http.client sends it (no Origin unless given)."""
    host, port = address(sim_web)
    conn = http.client.HTTPConnection(host, port, timeout=WAIT_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        data = reply.read()
    finally:
        conn.close()
    return reply.status, json.loads(data) if data.startswith(b"{") else {}


def post_json(sim_web: str, path: str, text: str, **extra: str) -> Reply:
    return request(sim_web, "POST", path, text, {"Content-Type": "application/json", **extra})


@pytest.fixture
def sim(sim_process: Callable[..., SimulatorProcess], tmp_path: Path) -> SimulatorProcess:
    return sim_process("--profile", "128x64x1", "-q", "--save-dir", str(tmp_path / "saved"))


def test_cross_site_simple_requests_are_refused(sim: SimulatorProcess) -> None:
    assert sim.web is not None
    boots = sim.state()["stats"]["device"]
    # What a <form> or a no-cors fetch from any site can send: refused before anything runs.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        status, reply = request(sim.web, "POST", "/api/reboot", "{}", headers)
        assert status == 415, (content_type, reply)
    status, _ = request(sim.web, "POST", "/api/reboot", "{}", {"Content-Type": "text/plain"})
    assert status == 415
    # JSON, but from a foreign page (or a sandboxed one, "null"): forbidden.
    for origin in ("http://evil.example", "null", "http://localhost:1", sim.web + ".evil"):
        status, reply = post_json(sim.web, "/api/reboot", "{}", Origin=origin)
        assert status == 403, (origin, reply)
    assert sim.state()["stats"]["device"] == boots  # no reboot happened
    # The page's own requests (same origin) and tools (no Origin) still work.
    assert post_json(sim.web, "/api/faults", "{}", Origin=sim.web)[0] == 200
    assert post_json(sim.web, "/api/faults", "{}")[0] == 200


def test_only_requests_addressed_to_the_bound_address_are_served(sim: SimulatorProcess) -> None:
    assert sim.web is not None
    _, port = address(sim.web)
    for host in (f"evil.example:{port}", "evil.example", f"localhost.evil:{port}", "127.0.0.1"):
        status, reply = request(sim.web, "GET", "/api/state", headers={"Host": host})
        assert status in (400, 421), (host, reply)
        assert "frame_id" not in reply
        status, _ = post_json(sim.web, "/api/reboot", "{}", Host=host)
        assert status in (400, 421), host
    status, reply = request(sim.web, "GET", "/api/state", headers={"Host": f"127.0.0.1:{port}"})
    assert status == 200 and "frame_id" in reply


def test_snapshots_go_only_into_the_save_dir_under_new_names(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    assert sim.web is not None
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    for body in ({"path": str(victim)}, {"path": "../victim.txt"}, {"name": "victim.txt"}):
        status, reply = post_json(sim.web, "/api/snapshot", json.dumps(body))
        assert status == 400, (body, reply)
    assert victim.read_bytes() == b"precious"

    saved = tmp_path / "saved"
    taken = saved / "snapshot-0001.png"  # left by an earlier run: kept as it is
    taken.write_bytes(b"old")
    (saved / "snapshot-0002.png").symlink_to(victim)  # a trap: never followed
    names = []
    for _ in range(2):
        status, reply = post_json(sim.web, "/api/snapshot", "{}")
        assert status == 200, reply
        names.append(str(reply["name"]))
        assert Path(str(reply["path"])).resolve() == (saved / names[-1]).resolve()
        assert (saved / names[-1]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert len(set(names)) == 2 and not {"snapshot-0001.png", "snapshot-0002.png"} & set(names)
    assert taken.read_bytes() == b"old" and victim.read_bytes() == b"precious"
    assert not list(saved.glob(".*"))  # no temporary files left behind


def test_snapshot_without_a_save_dir_is_refused(
    sim_process: Callable[..., SimulatorProcess],
) -> None:
    sim = sim_process("--profile", "128x64x1", "-q")
    assert sim.web is not None
    status, reply = post_json(sim.web, "/api/snapshot", "{}")
    assert status == 409 and "--save-dir" in str(reply["error"])


def raw_exchange(sim_web: str, head: bytes, body: bytes = b"") -> bytes:
    """Send a request head (and part of a body) without closing; the reply, read until the
    server closes. A server that waits for more of the body times out here."""
    with socket.create_connection(address(sim_web), timeout=WAIT_S) as sock:
        sock.sendall(head + body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_bad_content_lengths_are_refused_without_reading(sim: SimulatorProcess) -> None:
    assert sim.web is not None
    host = address(sim.web)
    for length in ("-1", "-200000000", "+5", "0x10", "1 0", "99999999999", str(64 * 1024 + 1)):
        head = (
            f"POST /api/faults HTTP/1.1\r\nHost: {host[0]}:{host[1]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        ).encode()
        reply = raw_exchange(sim.web, head, b'{"latency_ms": 1' + b" " * 1000)
        status = int(reply.split(b" ", 2)[1])
        assert status in (400, 413), (length, reply[:200])
    assert sim.state()["faults"]["to_host"]["latency_ms"] == 0


def test_a_request_has_a_deadline_for_arriving(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A sender trickling its headers (one byte every 20 ms, which no per-read timeout
    catches) is cut off at the deadline for the whole request."""
    monkeypatch.setattr(web, "REQUEST_DEADLINE_S", 0.3)
    sim = Simulator(SimConfig(get_profile("128x64x1"), tcp_port=0))
    server = WebServer(sim)
    server.start()
    try:
        with socket.create_connection(address(server.url), timeout=WAIT_S) as sock:
            trickle: Iterator[int] = iter(b"GET /api/state HTTP/1.1\r\n" + b"X: " + b"y" * 10_000)
            start, closed = time.monotonic(), False
            while time.monotonic() - start < WAIT_S and not closed:
                readable, _, _ = select.select([sock], [], [], 0.02)
                if readable:
                    closed = True  # the reply (408) or the close
                else:
                    sock.send(bytes([next(trickle)]))
            # Cut off mid-request (the trickle is far from its end), long before WAIT_S.
            assert closed, "the server waited for the slow request"
    finally:
        server.close()
        sim.close()


@pytest.mark.parametrize(
    "body",
    [
        '{"latency_ms": NaN}',
        '{"latency_ms": Infinity}',
        '{"latency_ms": 1e999}',
        '{"slow_ms": NaN}',
        '{"slow_ms": -Infinity}',
        '{"drop_rate": NaN}',
        '{"latency_ms": 1e12}',
    ],
)
def test_non_finite_fault_values_are_refused_and_the_link_keeps_working(
    sim: SimulatorProcess, body: str
) -> None:
    assert sim.web is not None
    status, reply = post_json(sim.web, "/api/faults", body)
    assert status == 400, reply
    faults = sim.state()["faults"]
    assert faults["slow_ms"] == 0 and faults["to_device"]["latency_ms"] == 0, faults
    with DisplayLink(LinkConfig(url=sim.url), Compositor.for_device) as link:
        assert link.wait_connected(WAIT_S), link.stats
        link.show(np.ones((64, 128), np.uint8))
        assert link.wait_presented(WAIT_S), link.stats


@pytest.mark.parametrize("body", ["[" * 30_000 + "]" * 30_000, '{"a":' * 5_000 + "1" + "}" * 5_000])
def test_deeply_nested_json_is_a_400_not_a_dropped_connection(
    sim: SimulatorProcess, body: str
) -> None:
    # Within the 64 KiB limit, but past the parser's recursion limit (RecursionError).
    assert sim.web is not None
    status, reply = post_json(sim.web, "/api/faults", body)
    assert status == 400 and "nested too deeply" in str(reply["error"]), reply
    assert post_json(sim.web, "/api/faults", "{}")[0] == 200


def test_pty_reports_no_host_until_one_talks(sim: SimulatorProcess) -> None:
    assert sim.state()["connected"] is False  # nobody has opened the pty yet
    with DisplayLink(LinkConfig(url=sim.url), Compositor.for_device) as link:
        assert link.wait_connected(WAIT_S), link.stats
        sim.wait_state(lambda s: s["connected"] is True, WAIT_S, "the host to show up")


def test_pty_host_counts_as_gone_after_a_quiet_spell() -> None:
    from hw_sim.ports import PTY_HOST_QUIET_S, PtyPort

    now = [0.0]
    port = PtyPort(clock=lambda: now[0])
    try:
        assert not port.connected
        fd = os.open(port.slave_path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"hello")
            deadline = time.monotonic() + WAIT_S
            got = b""
            while len(got) < 5 and time.monotonic() < deadline:
                select.select(port.read_fds(), [], [], 0.1)
                got += port.read(64)
            assert got == b"hello" and port.connected
            now[0] += PTY_HOST_QUIET_S + 0.1
            assert not port.connected
        finally:
            os.close(fd)
    finally:
        port.unplug()
