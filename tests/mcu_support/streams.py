"""Random host-to-device byte streams for the differential test and the fuzz corpus.

Frames are made with firmware_bridge's encoder (valid framing), with payloads that are right or
deliberately wrong (sizes, rectangles, PackBits, levels, versions, sequence numbers), and the
wire is then mutated: bits flipped, bytes dropped, garbage and zeros inserted, frames cut.
Each step is a chunk of bytes, or an input the device posts itself (an event or a log line).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from firmware_bridge.protocol import Frame, MsgType, encode_frame, packbits
from firmware_bridge.protocol.messages import ENTER_BOOTLOADER_MAGIC
from hw_sim.profiles import Profile


@dataclass(frozen=True)
class Step:
    """``rx``: bytes from the host; ``event``: (kind, code, value); ``log``: (level, text)."""

    rx: bytes = b""
    event: tuple[int, int, int] | None = None
    log: tuple[int, bytes] | None = None


class StreamMaker:
    def __init__(self, profile: Profile, seed: int) -> None:
        self.p = profile
        self.rng = random.Random(seed)
        self.seq = 0
        self.ppb = 8 // profile.bpp

    # -- payloads ---------------------------------------------------------------------------

    def _rect(self) -> tuple[int, int, int, int]:
        r, p, ppb = self.rng, self.p, self.ppb
        if r.random() < 0.15:  # anything: misaligned, empty, off screen, huge
            return tuple(
                r.choice([0, 1, ppb, p.width_px, 65535, r.randrange(0, 700)]) for _ in range(4)
            )  # type: ignore[return-value]
        w = ppb * r.randint(1, min(8, p.width_px // ppb))
        h = r.randint(1, min(6, p.height_px))
        x = ppb * r.randrange(0, (p.width_px - w) // ppb + 1)
        y = r.randrange(0, p.height_px - h + 1)
        return x, y, w, h

    def _blit(self) -> bytes:
        r = self.rng
        x, y, w, h = self._rect()
        size = (w * self.p.bpp // 8) * h if w < 4096 and h < 4096 else 16
        data = bytes(r.choice([0, 0x11, 0xFF, r.randrange(256)]) for _ in range(min(size, 400)))
        enc = r.choices([0, 1, r.randrange(2, 256)], [5, 5, 1])[0]
        if enc == 1:
            data = packbits.encode(data)
            if r.random() < 0.2:  # malformed: cut, extended, or a bad control byte
                data = r.choice(
                    [data[:-1], data + b"\x00", b"\xfd" + data[1:], data[: len(data) // 2]]
                )
        elif r.random() < 0.1:
            data = data[:-1] if r.random() < 0.5 else data + b"\x00"
        return struct.pack("<HHHHB", x, y, w, h, enc) + data

    def _copy(self) -> bytes:
        sx, sy, w, h = self._rect()
        dx, dy, _, _ = self._rect()
        if self.rng.random() < 0.5 and w < 4096 and h < 4096:  # overlapping scrolls
            dx = max(0, min(sx + self.ppb * self.rng.randint(-2, 2), self.p.width_px - w))
            dy = max(0, min(sy + self.rng.randint(-3, 3), self.p.height_px - h))
        return struct.pack("<HHHHHH", sx, sy, w, h, dx, dy)

    def _payload(self, t: int) -> bytes:
        r = self.rng
        match t:
            case MsgType.BLIT:
                return self._blit()
            case MsgType.COPY:
                return self._copy()
            case MsgType.CLEAR:
                return bytes([r.choice([0, 1, self.p.max_level, self.p.max_level + 1, 255])])
            case MsgType.SET_BRIGHTNESS:
                return bytes([r.randrange(256)])
            case MsgType.PRESENT | MsgType.PING | MsgType.PONG:
                return struct.pack("<I", r.getrandbits(32))
            case MsgType.NAK:
                return bytes([r.randrange(4), r.choice([1, 5, 6, 9])])
            case MsgType.ERROR:
                return bytes([r.randrange(4), 0x10, 7]) + r.choice([b"", b"oops", b"\xff\xfe"])
            case MsgType.EVENT:
                return bytes(8)
            case MsgType.LOG:
                return b"\x01" + r.choice([b"hi", b"\xc3\x28"])
            case MsgType.ENTER_BOOTLOADER:
                return struct.pack("<IH", r.choice([ENTER_BOOTLOADER_MAGIC, 0]), 5)
            case MsgType.HELLO:
                versions = r.choice([(1, 1)] * 8 + [(2, 3), (1, 0), (0, 1)])  # mostly a common one
                return struct.pack("<BBHI", *versions, r.choice([64, 4096, 10]), r.getrandbits(32))
            case MsgType.HELLO_ACK:
                return bytes(r.randrange(25))
            case _:
                return b""

    def _wrong_size(self, payload: bytes) -> bytes:
        r = self.rng
        return r.choice([payload[:-1], payload + b"\x00", b"", bytes(r.randrange(1, 20))])

    def frame(self) -> tuple[bytes, bool]:
        """One host frame, a random type (mostly sequenced drawing), sometimes wrong; and
        whether it took the next sequence number."""
        r = self.rng
        sequenced = [MsgType.BLIT] * 6 + [MsgType.COPY] * 3 + [MsgType.CLEAR, MsgType.PRESENT]
        sequenced += [MsgType.PRESENT, MsgType.SET_BRIGHTNESS, MsgType.SLEEP, MsgType.WAKE]
        sequenced += [MsgType.EVENT, MsgType.LOG, MsgType.ENTER_BOOTLOADER]
        other = [MsgType.PING, MsgType.PING, MsgType.ACK, MsgType.ACK, MsgType.NAK, MsgType.ERROR]
        other += [MsgType.PONG, MsgType.HELLO_ACK, MsgType.HELLO]
        roll = r.random()
        if roll < 0.7:
            t = int(r.choice(sequenced))
        elif roll < 0.97:
            t = int(r.choice(other))
        else:
            t = r.choice([0x00, 0x09, 0x17, 0x31, 0x3F, 0x99, 0xFF])
        payload = self._payload(t)
        if r.random() < 0.06:
            payload = self._wrong_size(payload)
        seq, took = 0, False
        if t in (m.value for m in sequenced):
            d = r.choices([0, -1, 1, 3], [12, 1, 1, 1])[0]
            seq = (self.seq + d) % 256
            if d == 0:
                self.seq, took = (self.seq + 1) % 256, True
        if t == MsgType.HELLO:
            self.seq = 0  # a new session numbers from 0 (if the device takes the HELLO)
        version = 1 if r.random() < 0.97 else r.choice([0, 2])
        ack = r.randrange(0, 4)
        if len(payload) > self.p.max_payload and r.random() < 0.8:
            payload = payload[: self.p.max_payload]
        return encode_frame(Frame(type=t, seq=seq, ack=ack, payload=payload, version=version)), took

    def hello(self) -> bytes:
        self.seq = 0
        payload = struct.pack(
            "<BBHI", 1, 1, self.rng.choice([64, 256, 4096]), self.rng.getrandbits(32)
        )
        return encode_frame(Frame(type=MsgType.HELLO, payload=payload))

    # -- the wire ---------------------------------------------------------------------------

    def mutate(self, wire: bytes) -> bytes:
        r = self.rng
        b = bytearray(wire)
        roll = r.random()
        if roll < 0.04 and b:
            i = r.randrange(len(b))
            b[i] ^= 1 << r.randrange(8)
        elif roll < 0.06 and len(b) > 2:
            del b[r.randrange(len(b) - 1)]
        elif roll < 0.08:
            b[:0] = bytes(r.randrange(256) for _ in range(r.randrange(1, 6)))
        elif roll < 0.10 and len(b) > 3:
            b = b[: r.randrange(1, len(b) - 1)]  # cut: the next frame resynchronises
        elif roll < 0.11:
            b[:0] = b"\x00\x00"
        elif roll < 0.115:
            b[:0] = b"\x01" * (self.p.max_payload + 40)  # a run past the receive buffer
        return bytes(b)

    def steps(self, n_frames: int) -> list[Step]:
        r = self.rng
        out = [Step(rx=self.hello())]
        events = logs = 0
        for _ in range(n_frames):
            roll = r.random()
            if roll < 0.03:
                out.append(Step(rx=self.hello()))
            elif roll < 0.06 and events < 3:
                events += 1
                out.append(Step(event=(r.choice([1, 2, 3, 5]), r.randrange(5), r.randrange(-3, 3))))
            elif roll < 0.075 and logs < 2:
                logs += 1
                out.append(Step(log=(r.randrange(4), b"temp " + str(r.randrange(99)).encode())))
            else:
                clean, took = self.frame()
                wire = self.mutate(clean)
                if took and wire != clean:  # probably lost: the host resends that number
                    self.seq = (self.seq - 1) % 256
                # Split inside the frame now and then: bytes arrive in any grouping.
                if len(wire) > 4 and r.random() < 0.2:
                    cut = r.randrange(1, len(wire) - 1)
                    out += [Step(rx=wire[:cut]), Step(rx=wire[cut:])]
                else:
                    out.append(Step(rx=wire))
        return out
