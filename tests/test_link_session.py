"""The link's decision logic (LinkSession) against a fake device, with time as data."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

import numpy as np
import pytest
from test_link_fakes import FakeDevice, ModelScreen

from firmware_bridge.compositor import Compositor
from firmware_bridge.config import LinkConfig
from firmware_bridge.errors import PortLostError, UnsupportedVersionError
from firmware_bridge.protocol import cobs
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.arq import QueueFullError
from firmware_bridge.protocol.frame import HEADER, Frame, FrameDecoder, encode_frame
from firmware_bridge.session import LinkSession
from firmware_bridge.stats import LinkState

pytestmark = pytest.mark.fast

Levels = np.ndarray


class Rig:
    """A LinkSession wired to a FakeDevice through a channel with latency and a drop filter."""

    def __init__(
        self,
        device: FakeDevice | None = None,
        *,
        latency_s: float = 0.0,
        **config: object,
    ) -> None:
        self.dev = device or FakeDevice()
        self.cfg = LinkConfig(url="fake://", **config)  # type: ignore[arg-type]
        ids = itertools.count(0x1000)
        self.s = LinkSession(self.cfg, Compositor.for_device, new_session_id=lambda: next(ids))
        self.latency_s = latency_s
        self.now = 0.0
        self.drop: Callable[[bytes], bool] = lambda _chunk: False
        self.hold_to_host = False
        self.sent: list[bytes] = []
        self._to_dev: deque[tuple[float, bytes]] = deque()
        self._to_host: deque[tuple[float, bytes]] = deque()
        self.s.port_opened(self.now)

    def step(self, dt_s: float = 0.0) -> None:
        self.now += dt_s
        for _ in range(200):
            moved = False
            for chunk in self.s.poll(self.now):
                self.sent.append(chunk)
                if not self.drop(chunk):
                    self._to_dev.append((self.now + self.latency_s, chunk))
            while self._to_dev and self._to_dev[0][0] <= self.now:
                self.dev.receive(self._to_dev.popleft()[1], self.now)
                moved = True
            back = self.dev.poll(self.now)
            if back:
                self._to_host.append((self.now + self.latency_s, back))
            while not self.hold_to_host and self._to_host and self._to_host[0][0] <= self.now:
                self.s.receive(self._to_host.popleft()[1], self.now)
                moved = True
            if not moved:
                return

    def run(self, seconds: float, dt_s: float = 0.005) -> None:
        end = self.now + seconds
        while self.now < end:
            self.step(dt_s)

    def host_messages(self) -> list[m.Message]:
        out: list[m.Message] = []
        for item in FrameDecoder().feed(b"".join(self.sent)):
            assert isinstance(item, Frame)
            out.append(m.decode_payload(item.type, item.payload))
        return out


def state(rig: Rig) -> LinkState:
    return rig.s.state  # a call, so mypy does not narrow the attribute across steps


def levels(dev: FakeDevice, seed: int) -> Levels:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 1 << dev.bpp, (dev.height_px, dev.width_px), dtype=np.uint8)


def connected(**kw: object) -> Rig:
    rig = Rig(**kw)  # type: ignore[arg-type]
    rig.step()
    if rig.latency_s:
        rig.run(3 * rig.latency_s)
    assert rig.s.state is LinkState.CONNECTED
    return rig


def test_handshake_records_device_and_boot_event() -> None:
    rig = connected()
    info = rig.s.device
    assert info is not None and (info.board_id, info.width_px, info.bpp) == ("fake-board", 64, 4)
    assert rig.sent[0].startswith(b"\x00"), "first HELLO flushes receiver garbage"
    assert rig.s.transitions == [LinkState.CONNECTED]
    (boot,) = rig.s.traffic.events
    assert isinstance(boot.message, m.Event) and boot.message.kind == m.EventKind.BOOT


def test_lost_hello_is_retried_with_a_fresh_session_id() -> None:
    rig = Rig()
    rig.drop = lambda chunk: len(rig.sent) == 1  # lose the first HELLO
    rig.step()
    assert rig.s.state is LinkState.CONNECTING
    rig.run(0.49)
    assert state(rig) is LinkState.CONNECTING, "retries only after hello_timeout_s"
    rig.run(0.02)
    assert state(rig) is LinkState.CONNECTED
    assert rig.dev.hellos == [0x1001] and rig.s.handshake.attempts == 2


def test_unanswered_hellos_wait_twice_as_long_each_time_up_to_the_retry_limit() -> None:
    rig = Rig(hello_timeout_s=0.5, hello_retry_max_s=2.0)
    rig.drop = lambda _chunk: True  # the device hears nothing
    sent_at: list[float] = []
    while rig.now < 8.0:
        before = len(rig.sent)
        rig.step(0.01)
        sent_at += [rig.now] * (len(rig.sent) - before)
    waits = [b - a for a, b in itertools.pairwise(sent_at)]
    assert waits == pytest.approx([0.5, 1.0, 2.0, 2.0, 2.0], abs=0.015), sent_at  # 10 ms steps
    assert rig.s.handshake.attempts == 6 and rig.dev.hellos == []


def test_hello_ack_for_an_older_hello_is_ignored() -> None:
    rig = Rig()
    rig.hold_to_host = True
    rig.step()
    rig.run(0.6)  # a second HELLO goes out; the device answered both, nothing delivered yet
    assert rig.dev.hellos == [0x1000, 0x1001]
    stale = m.HelloAck(1, 1, 1, 64, 32, 4, 256, 4, (1, 2, 3), 0x1000, "fake-board")
    rig.s.receive(encode_frame(Frame(m.MsgType.HELLO_ACK, payload=m.encode_payload(stale))), 1)
    assert rig.s.state is LinkState.CONNECTING
    rig.hold_to_host = False
    rig.step()
    assert state(rig) is LinkState.CONNECTED


def test_no_common_version_is_a_clear_fatal_error() -> None:
    rig = Rig(FakeDevice(versions=(2, 3)))
    rig.step()
    assert isinstance(rig.s.fatal, UnsupportedVersionError)
    assert str(rig.s.fatal) == (
        "the display (fake-board) supports protocol versions 2..3, this host supports 1..1: "
        "update the host or the firmware"
    )
    assert rig.s.state is LinkState.CLOSED
    rig.run(5.0)
    assert len(rig.dev.hellos) == 1, "no silent retrying"


def test_show_reaches_the_device_screen() -> None:
    rig = connected()
    target = levels(rig.dev, 1)
    gen = rig.s.show(target)
    rig.step()
    assert np.array_equal(rig.dev.screen.front, target)
    assert rig.s.screen.presented_gen == gen == 1
    assert rig.s.stats().presents_acked == 1


def test_screens_coalesce_while_an_update_is_unacknowledged() -> None:
    rig = connected()
    a, b, c = (levels(rig.dev, seed) for seed in (1, 2, 3))
    rig.hold_to_host = True  # the device's ACKs are late: a slow link
    rig.s.show(a)
    rig.run(0.02)
    rig.s.show(b)
    rig.s.show(c)
    rig.run(0.02)
    assert rig.dev.presents() == [], "the update of A waits for its acknowledgement"
    rig.hold_to_host = False
    rig.run(0.05)
    assert rig.dev.presents() == [1, 2], "A then C: B was skipped"
    assert np.array_equal(rig.dev.screen.front, c)
    assert rig.s.stats().screens_skipped == 1
    assert rig.s.screen.presented_gen == 3


def test_unchanged_screen_is_presented_without_traffic() -> None:
    rig = connected()
    target = levels(rig.dev, 1)
    rig.s.show(target)
    rig.step()
    before = len(rig.sent)
    gen = rig.s.show(target.copy())
    rig.step()
    assert rig.s.screen.presented_gen == gen and len(rig.sent) == before


def test_clear_is_sent_as_a_clear_message() -> None:
    rig = connected()
    rig.s.show(levels(rig.dev, 1))
    rig.step()
    rig.s.show(3)
    rig.step()
    assert (rig.dev.screen.front == 3).all()
    assert m.Clear(3) in rig.dev.received


def test_keepalive_ping_measures_the_round_trip() -> None:
    rig = connected(latency_s=0.010)
    rig.run(0.1)
    rig.run(2.0)
    pings = [x for x in rig.dev.received if isinstance(x, m.Ping)]
    assert 1 <= len(pings) <= 3
    rtt = rig.s.stats().rtt_ms
    assert rtt is not None and 19.0 <= rtt <= 31.0
    assert rig.s.state is LinkState.CONNECTED


def test_silence_means_link_lost_then_rehandshake_and_full_resend() -> None:
    rig = connected()
    target = levels(rig.dev, 1)
    rig.s.show(target)
    rig.step()
    rig.dev.mute = True
    rig.run(2.9)
    assert rig.s.state is LinkState.CONNECTED
    rig.run(0.2)
    assert state(rig) is LinkState.LOST
    rig.run(1.0)
    assert len(rig.dev.hellos) >= 2
    rig.dev.screen = ModelScreen(64, 32, 4)  # forget the content: the resend must be whole
    rig.dev.mute = False
    rig.run(2.5)
    assert state(rig) is LinkState.CONNECTED
    assert np.array_equal(rig.dev.screen.front, target)
    assert rig.s.stats().reconnects == 1
    assert rig.s.transitions[-2:] == [LinkState.LOST, LinkState.CONNECTED]


def test_device_reboot_restores_screen_and_brightness() -> None:
    rig = connected()
    target = levels(rig.dev, 1)
    rig.s.show(target)
    rig.s.command(m.SetBrightness(10))
    rig.step()
    assert rig.dev.brightness == 10
    rig.dev.reboot()  # announces NAK(0, NO_SESSION)
    rig.step()
    assert rig.s.state is LinkState.CONNECTED and rig.dev.sessions == 2
    assert np.array_equal(rig.dev.screen.front, target)
    assert rig.dev.brightness == 10
    assert rig.s.stats().naks >= 1


def test_reset_command_reboots_and_reconnects() -> None:
    rig = connected()
    target = levels(rig.dev, 1)
    rig.s.show(target)
    rig.s.command(m.SetBrightness(10))
    rig.step()
    rig.s.command(m.Reset())
    rig.run(0.3)
    assert rig.dev.boots == 2 and rig.s.state is LinkState.CONNECTED
    assert np.array_equal(rig.dev.screen.front, target)
    assert rig.dev.brightness == 255, "a RESET forgets the brightness on purpose"


def test_event_queue_is_bounded_and_drops_oldest() -> None:
    rig = connected(max_events=3)
    for code in range(5):
        rig.dev.send_event(m.EventKind.BUTTON, code, m.ButtonAction.PRESS)
    rig.step()
    codes = [e.message.code for e in rig.s.traffic.events if isinstance(e.message, m.Event)]
    assert codes == [2, 3, 4]
    assert rig.s.stats().events_dropped == 3  # BOOT and buttons 0, 1


def test_device_error_is_counted_and_resyncs_the_screen() -> None:
    rig = connected()
    target = levels(rig.dev, 1)
    rig.s.show(target)
    rig.step()
    rig.dev.screen = ModelScreen(64, 32, 4)  # as if a BLIT had been rejected
    err = m.Error(0, m.MsgType.BLIT, m.Reason.BAD_RECT, "outside")
    rig.s.receive(rig.dev.arq.encode_unsequenced(err), rig.now)
    rig.step()
    assert rig.s.stats().errors_from_device == 1
    assert rig.s.traffic.events[-1].message == err
    assert np.array_equal(rig.dev.screen.front, target), "the whole screen was resent"


def test_corrupt_frame_is_counted_and_nakked() -> None:
    rig = connected()
    body = HEADER.pack(1, m.MsgType.PONG, 0, 0, 0, 4) + b"\x05\x00\x00\x00"
    rig.s.receive(cobs.encode(body + b"\xde\xad\xbe\xef") + b"\x00", rig.now)
    out = rig.s.poll(rig.now)
    assert rig.s.stats().crc_errors == 1
    (nak,) = [x for x in FrameDecoder().feed(b"".join(out)) if isinstance(x, Frame)]
    assert m.decode_payload(nak.type, nak.payload) == m.Nak(rig.s.arq.rx_expected, m.Reason.BAD_CRC)


def test_losses_are_repaired_by_retransmission() -> None:
    rig = connected()
    counter = itertools.count()
    rig.drop = lambda chunk: next(counter) % 3 == 1
    target = levels(rig.dev, 7)
    rig.s.show(target)
    rig.run(1.0)
    rig.drop = lambda chunk: False
    rig.run(3.0)
    assert np.array_equal(rig.dev.screen.front, target)
    assert rig.s.stats().retransmits > 0


def test_port_loss_and_reopen_start_a_new_handshake() -> None:
    rig = connected()
    rig.s.port_lost(PortLostError("gone"))
    assert rig.s.state is LinkState.LOST
    assert rig.s.poll(rig.now) == [] and rig.s.next_wakeup_s(rig.now) == float("inf")
    rig.s.port_opened(rig.now)
    hello = rig.s.poll(rig.now)
    assert len(hello) == 1 and hello[0].startswith(b"\x00")


def test_commands_are_bounded() -> None:
    rig = Rig(max_commands=2)
    rig.s.command(m.Sleep())
    rig.s.command(m.Wake())
    with pytest.raises(QueueFullError):
        rig.s.command(m.Sleep())


def test_show_checks_the_screen_against_the_device() -> None:
    rig = connected()
    with pytest.raises(ValueError, match="display is 64x32"):
        rig.s.show(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match=r"0\.\.15"):
        rig.s.show(np.full((32, 64), 16))


def test_interop_with_the_simulated_firmware() -> None:
    device_mod = pytest.importorskip("hw_sim.device")
    profiles = pytest.importorskip("hw_sim.profiles")
    dev = device_mod.DisplayDevice(profiles.get_profile("128x64x1"))
    dev.receive = dev.receive_bytes  # the Rig's names
    rig = Rig(dev)
    rig.step()
    assert rig.s.state is LinkState.CONNECTED
    target = np.random.default_rng(3).integers(0, 2, (64, 128), dtype=np.uint8)
    rig.s.show(target)
    rig.run(0.5)
    assert np.array_equal(dev.fb.front, target)
    assert rig.s.stats().errors_from_device == 0


def host_frames(out: list[bytes]) -> list[m.Message]:
    frames = [x for x in FrameDecoder().feed(b"".join(out)) if isinstance(x, Frame)]
    return [m.decode_payload(f.type, f.payload) for f in frames]


def test_garbage_is_nakked_once_like_a_crc_error() -> None:
    rig = connected()
    rig.s.receive(b"\x05\x01\x02\x00\x03\xff\x00", rig.now)  # bad COBS, then too short
    assert rig.s.stats().malformed == 2 and rig.s.stats().crc_errors == 0
    expected = rig.s.arq.rx_expected
    assert host_frames(rig.s.poll(rig.now)) == [m.Nak(expected, m.Reason.BAD_CRC)]


def test_unknown_event_kinds_are_acknowledged_and_ignored() -> None:
    rig = connected()
    rig.dev.send_event(99, 1, 2)
    rig.dev.send_event(m.EventKind.WORN, 1)
    rig.step()
    kinds = [e.message.kind for e in rig.s.traffic.events if isinstance(e.message, m.Event)]
    assert kinds == [m.EventKind.BOOT, m.EventKind.WORN]
    assert rig.dev.arq.idle, "both were acknowledged"


def test_a_command_from_the_device_is_answered_with_an_error() -> None:
    rig = connected()
    rig.dev.arq.queue(m.Clear(1))
    rig.step()
    errors = [x for x in host_frames(rig.sent) if isinstance(x, m.Error)]
    assert [(e.ref_type, e.reason) for e in errors] == [(m.MsgType.CLEAR, m.Reason.UNKNOWN_TYPE)]
    assert rig.dev.arq.idle
