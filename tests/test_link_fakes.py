"""Test doubles for the host link: a screen model, a pure fake device and in-memory ports.

The fake device speaks protocol v1 through the shared Arq, like the firmware; it is small and
fully controllable (mute, reboot, version range), so the link tests can stage every fault.
The few tests at the bottom check the doubles themselves.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from firmware_bridge.errors import LinkError, PortLostError
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol import packbits, pixels
from firmware_bridge.protocol.arq import Arq, ArqConfig
from firmware_bridge.protocol.frame import Frame, FrameDecoder, FrameError, encode_frame
from hw_sim.framebuffer import DrawError, copy_rect

pytestmark = pytest.mark.fast

Levels = npt.NDArray[np.uint8]


class ModelScreen:
    """Back and front buffers that apply BLIT / COPY / CLEAR / PRESENT exactly as the rules say
    (COPY by the simulator's own code); a command that breaks them fails an assertion."""

    def __init__(self, width_px: int, height_px: int, bpp: int) -> None:
        self.width_px, self.height_px, self.bpp = width_px, height_px, bpp
        self.back: Levels = np.zeros((height_px, width_px), np.uint8)
        self.front: Levels = self.back.copy()
        self.presented: list[int] = []

    def apply(self, msg: m.Message) -> None:
        if isinstance(msg, m.Blit):
            ppb = pixels.pixels_per_byte(self.bpp)
            assert msg.x % ppb == 0 and msg.width_px % ppb == 0, "BLIT not byte aligned"
            assert msg.width_px > 0 and msg.height_px > 0
            assert msg.x + msg.width_px <= self.width_px, "BLIT past the right edge"
            assert msg.y + msg.height_px <= self.height_px, "BLIT past the bottom"
            size = pixels.row_bytes(msg.width_px, self.bpp) * msg.height_px
            data = msg.data if msg.encoding == m.Encoding.RAW else packbits.decode(msg.data, size)
            rect = pixels.unpack(data, msg.width_px, msg.height_px, self.bpp)
            self.back[msg.y : msg.y + msg.height_px, msg.x : msg.x + msg.width_px] = rect
        elif isinstance(msg, m.Copy):
            try:
                copy_rect(self.back, self.bpp, msg)
            except DrawError as exc:
                raise AssertionError(f"bad COPY: {exc}") from exc
        elif isinstance(msg, m.Clear):
            self.back[:] = msg.level
        elif isinstance(msg, m.Present):
            self.front = self.back.copy()
            self.presented.append(msg.frame_id)
        else:
            raise AssertionError(f"not a screen message: {msg!r}")


@dataclass
class FakeDevice:
    """A display MCU as a pure object: :meth:`receive` bytes, :meth:`poll` for its answer."""

    width_px: int = 64
    height_px: int = 32
    bpp: int = 4
    max_payload: int = 256
    window: int = 4
    versions: tuple[int, int] = (1, 1)
    board_id: str = "fake-board"
    reboot_delay_s: float = 0.1
    mute: bool = False  # receives but never answers (a hung or unpowered device)
    session: bool = False
    sessions: int = 0
    boots: int = 0
    brightness: int = 255
    sleeping: bool = False
    hellos: list[int] = field(default_factory=list)
    received: list[m.Message] = field(default_factory=list)
    arq: Arq = field(init=False)
    screen: ModelScreen = field(init=False)
    _decoder: FrameDecoder = field(init=False)
    _out: bytearray = field(default_factory=bytearray)
    _reboot_at_s: float | None = None
    _boot_reported: bool = False

    def __post_init__(self) -> None:
        self.arq = Arq(ArqConfig(window=self.window))
        self._boot()

    # -- wire ----------------------------------------------------------------------------

    def receive(self, data: bytes, now_s: float) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, FrameError):
                if self.session and item.reason == "crc":
                    self._out += b"".join(self.arq.corrupt_frame_seen())
            else:
                self._handle(item, now_s)

    def poll(self, now_s: float) -> bytes:
        if self._reboot_at_s is not None and now_s >= self._reboot_at_s:
            self._boot()
        if self.session:
            self._out += b"".join(self.arq.poll(now_s))
        out = bytes(self._out)
        self._out.clear()
        return b"" if self.mute else out

    # -- device actions ------------------------------------------------------------------

    def reboot(self) -> None:
        self._boot()

    def send_event(self, kind: int, code: int = 0, value: int = 0) -> None:
        if self.session:
            self.arq.queue(m.Event(kind, code, value, 0))

    def _boot(self) -> None:
        self.boots += 1
        self.session = False
        self._reboot_at_s = None
        self._boot_reported = False
        self.arq.reset()
        self._decoder = FrameDecoder(max_payload=self.max_payload)
        self.screen = ModelScreen(self.width_px, self.height_px, self.bpp)
        self.brightness, self.sleeping = 255, False
        self._send(m.Nak(0, m.Reason.NO_SESSION))

    def _send(self, msg: m.Message) -> None:
        self._out += self.arq.encode_unsequenced(msg)

    def _handle(self, frame: Frame, now_s: float) -> None:
        if frame.type == m.MsgType.HELLO:
            hello = m.decode_payload(frame.type, frame.payload)
            assert isinstance(hello, m.Hello)
            self.hellos.append(hello.session_id)
            low, high = (
                max(hello.min_version, self.versions[0]),
                min(hello.max_version, self.versions[1]),
            )
            version = high if low <= high else 0
            self.session = version != 0
            self.arq.reset(peer_window=None)
            self._send(
                m.HelloAck(
                    version,
                    *self.versions,
                    self.width_px,
                    self.height_px,
                    self.bpp,
                    self.max_payload,
                    self.window,
                    (1, 2, 3),
                    hello.session_id,
                    self.board_id,
                )
            )
            if self.session:
                self.sessions += 1
                if not self._boot_reported:
                    self._boot_reported = True
                    self.arq.queue(m.Event(m.EventKind.BOOT, 0, 0, 0))
            return
        if not self.session:
            self._send(m.Nak(frame.seq, m.Reason.NO_SESSION))
            return
        msgs, naks = self.arq.receive(frame, now_s)
        self._out += b"".join(naks)
        for msg in msgs:
            self.received.append(msg)
            if isinstance(msg, m.Ping):
                self._send(m.Pong(msg.token))
            elif isinstance(msg, (m.Blit, m.Copy, m.Clear, m.Present)):
                self.screen.apply(msg)
            elif isinstance(msg, m.SetBrightness):
                self.brightness = msg.level
            elif isinstance(msg, (m.Sleep, m.Wake)):
                self.sleeping = isinstance(msg, m.Sleep)
            elif isinstance(msg, m.Reset):
                self._reboot_at_s = now_s + self.reboot_delay_s

    def presents(self) -> list[int]:
        return [msg.frame_id for msg in self.received if isinstance(msg, m.Present)]


# -- in-memory ports for the threaded link ------------------------------------------------


class _Pipe:
    def __init__(self) -> None:
        self.buf = bytearray()
        self.woken = False


class MemoryLine:
    """A cable between a host :class:`Transport` end and a device end, that can be unplugged."""

    def __init__(self, url: str = "mem://display") -> None:
        self.url = url
        self.cond = threading.Condition()
        self.to_host, self.to_device = _Pipe(), _Pipe()
        self.plugged = True
        self.generation = 0  # bumped by unplug: old host ends stay dead
        self.opens = 0

    def open_host(self, _config: object = None) -> MemoryEnd:
        with self.cond:
            if not self.plugged:
                raise LinkError(f"cannot open the display link {self.url!r}: unplugged")
            self.opens += 1
            self.to_host.buf.clear()
            return MemoryEnd(self, self.to_host, self.to_device, self.generation)

    def device_end(self) -> MemoryEnd:
        return MemoryEnd(self, self.to_device, self.to_host, None)

    def unplug(self) -> None:
        with self.cond:
            self.plugged = False
            self.generation += 1
            self.to_host.buf.clear()
            self.to_device.buf.clear()
            self.cond.notify_all()

    def replug(self) -> None:
        with self.cond:
            self.plugged = True
            self.cond.notify_all()


class MemoryEnd:
    def __init__(self, line: MemoryLine, rx: _Pipe, tx: _Pipe, generation: int | None) -> None:
        self.line, self.rx, self.tx, self.generation = line, rx, tx, generation
        self.url = line.url
        self.wakeable = True
        self.closed = False

    def _alive(self) -> bool:
        return self.generation is None or self.generation == self.line.generation

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        with self.line.cond:
            self.line.cond.wait_for(
                lambda: self.rx.buf or self.rx.woken or not self._alive() or self.closed, timeout_s
            )
            if not self._alive():
                raise PortLostError(f"{self.url}: unplugged")
            self.rx.woken = False
            data = bytes(self.rx.buf[:max_bytes])
            del self.rx.buf[:max_bytes]
            return data

    def write(self, data: bytes) -> None:
        with self.line.cond:
            if not self._alive():
                raise PortLostError(f"{self.url}: unplugged")
            if self.line.plugged:
                self.tx.buf += data
            self.line.cond.notify_all()

    def wake(self) -> None:
        with self.line.cond:
            self.rx.woken = True
            self.line.cond.notify_all()

    def close(self) -> None:
        with self.line.cond:
            self.closed = True
            self.line.cond.notify_all()


class DeviceThread:
    """Runs a :class:`FakeDevice` on the device end of a :class:`MemoryLine` (or any reader)."""

    def __init__(self, device: FakeDevice, end: MemoryEnd) -> None:
        self.device, self.end = device, end
        self.lock = threading.Lock()  # hold it to inspect or change the device
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-device", daemon=True)

    def __enter__(self) -> DeviceThread:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self.end.wake()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.end.read(65536, 0.01)
            with self.lock:
                now = time.monotonic()
                if data:
                    self.device.receive(data, now)
                out = self.device.poll(now)
            if out:
                self.end.write(out)


class PtyDevice:
    """The fake device on the master side of a pty; the link opens the slave path."""

    def __init__(self, device: FakeDevice) -> None:
        self.device = device
        self.master, self._slave = os.openpty()
        # Kept open so the master never sees EIO while the link (re)opens the path.
        self.path = os.ttyname(self._slave)
        tty.setraw(self._slave)  # no echo of the device's own bytes before the link opens
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.01)
            data = b""
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    data = b""  # no slave open right now
            with self.lock:
                now = time.monotonic()
                if data:
                    self.device.receive(data, now)
                out = self.device.poll(now)
            if out:
                os.write(self.master, out)

    def __enter__(self) -> PtyDevice:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self._slave)


# -- the doubles themselves ---------------------------------------------------------------


def test_fake_device_answers_hello_and_blit() -> None:
    dev = FakeDevice(width_px=16, height_px=2, bpp=4)
    (boot,) = FrameDecoder().feed(dev.poll(0.0))
    assert isinstance(boot, Frame)
    assert m.decode_payload(boot.type, boot.payload) == m.Nak(0, m.Reason.NO_SESSION)
    hello = m.Hello(1, 1, 256, 0xABC)
    dev.receive(encode_frame(Frame(type=m.MsgType.HELLO, payload=m.encode_payload(hello))), 0.0)
    assert dev.session and dev.hellos == [0xABC]
    blit = m.Blit(0, 0, 16, 2, m.Encoding.RAW, bytes(range(16)))
    payload = m.encode_payload(blit)
    dev.receive(encode_frame(Frame(type=m.MsgType.BLIT, seq=0, payload=payload)), 0.0)
    dev.receive(encode_frame(Frame(type=m.MsgType.PRESENT, seq=1, payload=b"\x07\0\0\0")), 0.0)
    assert dev.presents() == [7]
    assert dev.screen.front[0, :4].tolist() == [0, 0, 0, 1]


def test_model_screen_applies_copy_as_memmove() -> None:
    screen = ModelScreen(16, 4, 4)
    screen.back[:] = np.arange(64, dtype=np.uint8).reshape(4, 16) % 16
    before = screen.back.copy()
    screen.apply(m.Copy(src_x=0, src_y=0, width_px=12, height_px=3, dst_x=2, dst_y=1))
    expected = before.copy()
    expected[1:4, 2:14] = before[0:3, 0:12]  # the source as it was, despite the overlap
    assert np.array_equal(screen.back, expected)
    try:
        screen.apply(m.Copy(src_x=1, src_y=0, width_px=2, height_px=1, dst_x=0, dst_y=0))
    except AssertionError as exc:
        assert "bad COPY" in str(exc)
    else:
        raise AssertionError("an odd src_x at 4 bpp must be refused")


def test_memory_line_moves_bytes_and_unplugs() -> None:
    line = MemoryLine()
    host, dev = line.open_host(), line.device_end()
    host.write(b"abc")
    assert dev.read(10, 0.0) == b"abc"
    host.wake()
    assert host.read(10, 5.0) == b""  # woken, not timed out
    line.unplug()
    try:
        host.read(10, 0.0)
    except PortLostError:
        pass
    else:
        raise AssertionError("expected PortLostError")
