"""Device commands waiting for the link, and the device state to restore after a reboot."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from firmware_bridge.protocol.arq import QueueFullError
from firmware_bridge.protocol.messages import Message, Reset, SetBrightness, Sleep, Wake


@dataclass
class CommandQueue:
    """A bounded FIFO of sequenced commands (brightness, sleep, wake, reset).

    Brightness and sleep are state a device reboot loses, so the newest of each is remembered
    and put back in front of the queue when a new session starts after a lost one.
    """

    limit: int
    _queue: deque[Message] = field(default_factory=deque)
    _brightness: SetBrightness | None = None
    _power: Sleep | Wake | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def push(self, msg: Message) -> None:
        if len(self._queue) >= self.limit:
            raise QueueFullError(f"more than {self.limit} link commands waiting")
        self._queue.append(msg)
        if isinstance(msg, Reset):
            self._brightness = self._power = None  # a reset asks for the defaults
        elif isinstance(msg, SetBrightness):
            self._brightness = msg
        elif isinstance(msg, (Sleep, Wake)):
            self._power = msg

    def pop(self) -> Message:
        return self._queue.popleft()

    def restore_state(self) -> None:
        """A new session after a lost one: the device may have rebooted; resend its state."""
        for msg in (self._power, self._brightness):
            if msg is not None:
                self._queue.appendleft(msg)


__all__ = ["CommandQueue"]
