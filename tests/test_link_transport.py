"""Transports (pyserial URLs), their error messages, and the link settings."""

from __future__ import annotations

import os
import socket
import tty

import pytest

from firmware_bridge.config import Backoff, LinkConfig
from firmware_bridge.errors import LinkError, PortLostError
from firmware_bridge.transport import open_transport

pytestmark = pytest.mark.fast


def test_missing_device_names_url_os_error_and_what_to_check() -> None:
    with pytest.raises(LinkError) as info:
        open_transport("/dev/ttyDOESNOTEXIST", 921600)
    text = str(info.value)
    assert text.startswith("cannot open the display link '/dev/ttyDOESNOTEXIST': ")
    assert "No such file or directory" in text
    assert "ls /dev/ttyACM*" in text and "simulator is running" in text


def test_refused_socket_suggests_the_simulator() -> None:
    with socket.socket() as probe:  # a free port that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LinkError, match=r"refused.*is the simulator running"):
        open_transport(f"socket://127.0.0.1:{port}", 921600)


def test_unknown_scheme_lists_the_accepted_forms() -> None:
    with pytest.raises(LinkError, match="socket://HOST:PORT or loop://"):
        open_transport("bluetooth://glasses", 921600)


def test_not_a_serial_port() -> None:
    with pytest.raises(LinkError, match=r"/dev/null.*(not a serial port|check the path)"):
        open_transport("/dev/null", 921600)


def test_loop_url_reads_writes_and_wakes() -> None:
    port = open_transport("loop://", 115200)
    try:
        assert port.wakeable
        port.write(b"\x01\x02\x00")
        assert port.read(10, 1.0) == b"\x01\x02\x00"
        port.wake()
        assert port.read(10, 5.0) == b""  # returns at once, not after 5 s
    finally:
        port.close()


def test_pty_that_goes_away_is_a_lost_port() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    port = open_transport(os.ttyname(slave), 921600)
    try:
        os.write(master, b"hi")
        assert port.read(10, 1.0) == b"hi"
        os.close(slave)
        os.close(master)  # like the simulator exiting or a USB device unplugged
        with pytest.raises(PortLostError, match="read failed"):
            port.read(10, 1.0)
    finally:
        port.close()


def test_link_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="window"):
        LinkConfig(url="x", window=0)
    with pytest.raises(ValueError, match="max_payload"):
        LinkConfig(url="x", max_payload=10)
    with pytest.raises(ValueError, match="keepalive_s"):
        LinkConfig(url="x", keepalive_s=5.0, link_timeout_s=3.0)
    assert LinkConfig(url="x").arq_config().window == 8


def test_backoff_doubles_to_its_cap_and_resets() -> None:
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next_delay_s() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next_delay_s() == 0.1
