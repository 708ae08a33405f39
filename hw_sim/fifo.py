"""The MCU's bounded queues: receive slots (with per-frame processing time) and the UART TX FIFO.

Both have a fixed capacity, as on the real board: when they are full, data is lost and
counted, and the protocol's ARQ recovers; memory never grows with what the host sends.
"""

from __future__ import annotations

from collections import deque

from firmware_bridge.protocol.frame import Frame, FrameError


class RxSlots:
    """Received frames (and framing errors) waiting to be handled, in arrival order.

    A frame becomes ready when the MCU has finished the frames before it plus its own
    processing time, which models a device slower than its link.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._items: deque[tuple[float, Frame | FrameError]] = deque()
        self._busy_until_s = 0.0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: Frame | FrameError, now_s: float, cost_s: float) -> bool:
        """Store ``item``; False (and dropped) when every slot is taken."""
        if len(self._items) >= self.slots:
            return False
        self._busy_until_s = max(self._busy_until_s, now_s) + cost_s
        self._items.append((self._busy_until_s, item))
        return True

    @property
    def head_ready_s(self) -> float | None:
        """When the oldest item is ready to be handled; None if empty."""
        return self._items[0][0] if self._items else None

    def pop(self) -> Frame | FrameError:
        return self._items.popleft()[1]

    def clear(self, now_s: float) -> None:
        self._items.clear()
        self._busy_until_s = now_s


class TxFifo:
    """Bytes waiting to be transmitted, bounded to ``limit_bytes`` whole frames."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def put(self, frame: bytes) -> bool:
        """Append one encoded frame; False (and dropped whole) if it does not fit."""
        if len(self._buf) + len(frame) > self.limit_bytes:
            return False
        self._buf += frame
        return True

    def take(self) -> bytes:
        out = bytes(self._buf)
        self._buf.clear()
        return out

    def clear(self) -> None:
        self._buf.clear()
