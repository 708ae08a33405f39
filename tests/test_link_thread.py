"""DisplayLink, its I/O thread and real ports, against the fake device.

Waits are on the link's own conditions with generous timeouts; nothing sleeps for logic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from process_support import wait_for
from test_link_fakes import DeviceThread, FakeDevice, MemoryLine, PtyDevice

from firmware_bridge.compositor import Compositor
from firmware_bridge.config import LinkConfig
from firmware_bridge.errors import (
    HandshakeError,
    LinkClosedError,
    LinkError,
    UnsupportedVersionError,
)
from firmware_bridge.link import DisplayLink
from firmware_bridge.protocol import messages as m
from firmware_bridge.stats import DeviceEvent, LinkState

pytestmark = pytest.mark.fast

WAIT_S = 10.0  # upper bound only: every wait returns as soon as its condition holds


def fast_config(url: str, **kw: object) -> LinkConfig:
    base: dict[str, object] = {
        "hello_timeout_s": 0.05,
        "hello_retry_max_s": 0.2,
        "reconnect_backoff_min_s": 0.01,
        "reconnect_backoff_max_s": 0.05,
        "io_tick_s": 0.01,
    }
    return LinkConfig(url=url, **{**base, **kw})  # type: ignore[arg-type]


@contextmanager
def memory_rig(
    device: FakeDevice | None = None, **kw: object
) -> Iterator[tuple[DisplayLink, DeviceThread, MemoryLine, list[LinkState]]]:
    line = MemoryLine()
    states: list[LinkState] = []
    dev = DeviceThread(device or FakeDevice(), line.device_end())
    link = DisplayLink(
        fast_config(line.url, **kw),
        Compositor.for_device,
        on_state=states.append,
        transport_factory=line.open_host,
    )
    with dev, link:
        yield link, dev, line, states


def target(seed: int, dev: FakeDevice) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 1 << dev.bpp, (dev.height_px, dev.width_px), dtype=np.uint8)


def test_connect_show_and_present() -> None:
    with memory_rig() as (link, dev, _line, states):
        info = link.wait_connected(WAIT_S)
        assert (info.board_id, info.width_px, info.height_px) == ("fake-board", 64, 32)
        screen = target(1, dev.device)
        link.show(screen)
        assert link.wait_presented(WAIT_S)
        with dev.lock:
            assert np.array_equal(dev.device.screen.front, screen)
        stats = link.stats
        assert stats.presents_acked == 1 and stats.bytes_tx > 0 and stats.frames_rx > 0
        assert states == [LinkState.CONNECTED]
    assert link.state is LinkState.CLOSED
    with pytest.raises(LinkClosedError):
        link.show(screen)


def test_last_of_many_screens_arrives() -> None:
    with memory_rig() as (link, dev, _line, _states):
        link.wait_connected(WAIT_S)
        screens = [target(seed, dev.device) for seed in range(30)]
        for screen in screens:
            link.show(screen)
        assert link.wait_presented(WAIT_S)
        with dev.lock:
            assert np.array_equal(dev.device.screen.front, screens[-1])
            presents = len(dev.device.presents())
        assert presents <= 30 and link.stats.screens_skipped == 30 - presents


def test_commands_and_events() -> None:
    got: list[DeviceEvent] = []
    line = MemoryLine()
    with (
        DeviceThread(FakeDevice(), line.device_end()) as dev,
        DisplayLink(
            fast_config(line.url),
            Compositor.for_device,
            on_event=got.append,
            transport_factory=line.open_host,
        ) as link,
    ):
        link.wait_connected(WAIT_S)
        boot = link.get_event(WAIT_S)
        assert boot is not None and isinstance(boot.message, m.Event)
        assert boot.message.kind == m.EventKind.BOOT
        link.set_brightness(40)
        link.sleep()
        wait_for(
            lambda: dev.device.brightness == 40 and dev.device.sleeping,
            "brightness 40 and sleep on the device",
        )
        with dev.lock:
            dev.device.send_event(m.EventKind.SWIPE, m.SwipeDirection.FORWARD)
        swipe = link.get_event(WAIT_S)
        assert swipe is not None and swipe.message == m.Event(m.EventKind.SWIPE, 1, 0, 0)
        assert link.get_event(0.0) is None
        assert [e.message for e in got] == [boot.message, swipe.message]
        link.clear(2)
        assert link.wait_presented(WAIT_S)
        with dev.lock:
            assert (dev.device.screen.front == 2).all()


def test_unplug_and_replug_reconnects_and_resends() -> None:
    with memory_rig() as (link, dev, line, states):
        link.wait_connected(WAIT_S)
        screen = target(5, dev.device)
        link.show(screen)
        assert link.wait_presented(WAIT_S)
        line.unplug()
        with dev.lock:
            dev.device.reboot()  # unplugging a USB display powers it off
        wait_for(lambda: link.state is LinkState.LOST, "the link to be lost")
        line.replug()
        wait_for(lambda: link.state is LinkState.CONNECTED, "the link to reconnect")
        wait_for(
            lambda: np.array_equal(dev.device.screen.front, screen),
            "the screen on the device",
        )
        assert link.stats.reconnects == 1
        assert states[:3] == [LinkState.CONNECTED, LinkState.LOST, LinkState.CONNECTED]
        assert line.opens >= 2


def test_unsupported_version_reaches_the_caller() -> None:
    with memory_rig(FakeDevice(versions=(3, 4), board_id="future")) as (link, _d, _l, _s):
        with pytest.raises(UnsupportedVersionError, match=r"versions 3\.\.4, this host"):
            link.wait_connected(WAIT_S)
        wait_for(lambda: link.state is LinkState.CLOSED, "the link to close")
        with pytest.raises(UnsupportedVersionError):
            link.show(np.zeros((32, 64), np.uint8))


def test_wrong_port_fails_fast_with_advice() -> None:
    link = DisplayLink(LinkConfig(url="/dev/ttyDOESNOTEXIST"), Compositor.for_device)
    with pytest.raises(LinkError) as info:
        link.start()
    text = str(info.value)
    assert "/dev/ttyDOESNOTEXIST" in text and "No such file" in text
    assert "ls /dev/ttyACM*" in text


def test_waiting_for_a_port_reports_the_last_open_error() -> None:
    config = fast_config("/dev/ttyDOESNOTEXIST", wait_for_port=True)
    with DisplayLink(config, Compositor.for_device) as link:
        with pytest.raises(LinkError, match="DOESNOTEXIST"):
            link.wait_connected(0.3)
        assert link.state is LinkState.CONNECTING


def test_silent_device_times_out_with_advice() -> None:
    with (
        memory_rig(FakeDevice(mute=True)) as (link, _d, _l, _s),
        pytest.raises(LinkError, match=r"no answer from the display .* baud rate"),
    ):
        link.wait_connected(0.3)


def test_close_wakes_the_io_thread(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing is due for an hour, so the I/O thread sits in one long read that only the wake
    # of close() can end; without it close() would wait out its join and log a warning.
    monkeypatch.setattr("firmware_bridge.link.MAX_BLOCK_S", 3600.0)
    with memory_rig(keepalive_s=1800.0, link_timeout_s=3600.0) as (link, _d, _l, _s):
        link.wait_connected(WAIT_S)
        link.close()
        assert link.state is LinkState.CLOSED
    assert "did not stop in time" not in caplog.text


# -- through a real pty with pyserial ----------------------------------------------------


def test_through_a_pty() -> None:
    fake = FakeDevice(width_px=128, height_px=64, bpp=1, max_payload=256, window=2)
    with PtyDevice(fake) as pty, DisplayLink(fast_config(pty.path), Compositor.for_device) as link:
        info = link.wait_connected(WAIT_S)
        assert info.bpp == 1
        screen = np.random.default_rng(9).integers(0, 2, (64, 128), dtype=np.uint8)
        link.show(screen)
        assert link.wait_presented(WAIT_S)
        with pty.lock:
            assert np.array_equal(fake.screen.front, screen)


def test_a_display_the_encoder_cannot_drive_is_a_handshake_error() -> None:
    def refuse(_ack: m.HelloAck) -> Compositor:
        raise ValueError("3 bpp is not supported")

    line = MemoryLine()
    with (
        DeviceThread(FakeDevice(), line.device_end()),
        DisplayLink(fast_config(line.url), refuse, transport_factory=line.open_host) as link,
        pytest.raises(HandshakeError, match=r"cannot drive the display 'fake-board'.*3 bpp"),
    ):
        link.wait_connected(WAIT_S)


def test_a_bug_on_the_io_thread_is_reported_not_hung() -> None:
    def broken(_ack: m.HelloAck) -> Compositor:
        raise RuntimeError("boom")

    line = MemoryLine()
    with (
        DeviceThread(FakeDevice(), line.device_end()),
        DisplayLink(fast_config(line.url), broken, transport_factory=line.open_host) as link,
    ):
        with pytest.raises(LinkError, match="failed: RuntimeError"):
            link.wait_connected(WAIT_S)
        assert link.state is LinkState.CLOSED
