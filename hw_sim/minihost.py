"""A minimal protocol host for tests and bench checks of the simulator.

It is deliberately small (no reconnects, no compositor): the production host is
``firmware_bridge.link``. Pure like the device: bytes and time in, bytes out.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Final

import numpy as np

from firmware_bridge.protocol import packbits
from firmware_bridge.protocol.arq import Arq, ArqConfig
from firmware_bridge.protocol.frame import FrameDecoder, FrameError
from firmware_bridge.protocol.messages import (
    SEQUENCED,
    Blit,
    Encoding,
    Hello,
    HelloAck,
    Message,
    MsgType,
    PayloadError,
    decode_payload,
)
from firmware_bridge.protocol.pixels import Levels, pack

_MAX_KEPT: Final = 1024  # received messages kept for inspection


class MiniHost:
    """Plays the host: HELLO, sequenced commands through its own :class:`Arq`, and a log of
    what the device sent (``received``, newest last, bounded)."""

    def __init__(self, max_payload: int = 4096, window: int = 8) -> None:
        self.max_payload = max_payload
        self.arq = Arq(ArqConfig(window=window))
        self.decoder = FrameDecoder(max_payload=max_payload)
        self.received: deque[Message] = deque(maxlen=_MAX_KEPT)
        self.frame_errors: deque[FrameError] = deque(maxlen=_MAX_KEPT)
        self.hello_ack: HelloAck | None = None
        self.session_id = 0
        self._out = bytearray()

    def hello(
        self, min_version: int = 1, max_version: int = 1, session_id: int | None = None
    ) -> None:
        self.session_id = random.getrandbits(32) if session_id is None else session_id
        self.hello_ack = None
        self.send(Hello(min_version, max_version, self.max_payload, self.session_id))

    def send(self, msg: Message) -> None:
        """Queue a sequenced message or write an unsequenced one at the next poll."""
        if msg.TYPE in SEQUENCED:
            self.arq.queue(msg)
        else:
            self._out += self.arq.encode_unsequenced(msg)

    def feed(self, data: bytes, now_s: float) -> list[Message]:
        """Bytes from the device; returns the messages delivered, in order."""
        delivered: list[Message] = []
        for item in self.decoder.feed(data):
            if isinstance(item, FrameError):
                self.frame_errors.append(item)
                for chunk in self.arq.corrupt_frame_seen():
                    self._out += chunk
                continue
            if item.type == MsgType.HELLO_ACK:
                ack = decode_payload(item.type, item.payload)
                assert isinstance(ack, HelloAck)
                if ack.session_id == self.session_id and ack.version:
                    self.hello_ack = ack
                    self.arq.reset(ack.window)
                delivered.append(ack)
                continue
            try:
                messages, out = self.arq.receive(item, now_s)
            except PayloadError:
                continue
            for chunk in out:
                self._out += chunk
            delivered += messages
        self.received.extend(delivered)
        return delivered

    def poll(self, now_s: float) -> bytes:
        for chunk in self.arq.poll(now_s):
            self._out += chunk
        out = bytes(self._out)
        self._out.clear()
        return out


def blit(levels: Levels, x: int, y: int, bpp: int, encoding: Encoding = Encoding.RAW) -> Blit:
    """A BLIT message drawing ``levels`` (height, width) at (x, y)."""
    h, w = levels.shape
    data = pack(np.asarray(levels, dtype=np.uint8), bpp)
    if encoding == Encoding.PACKBITS:
        data = packbits.encode(data)
    return Blit(x, y, w, h, encoding, data)
