"""Screen updates over the link: a slot for the newest target, sent one update at a time.

The host never queues screens. :meth:`ScreenPipeline.submit` replaces the target; an update
(BLITs + PRESENT) is built from the newest target only when the previous one has been
acknowledged, so a link slower than the content skips intermediate screens and the last
screen always arrives.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from firmware_bridge.protocol.messages import HelloAck, Message

log = logging.getLogger(__name__)

Levels = npt.NDArray[np.uint8]
Target = Levels | int
"""A screen: a (height, width) array of levels, or one level for the whole screen."""


class ScreenEncoder(Protocol):
    """Turns the device screen into a target screen with as few bytes as possible."""

    def update(self, target: Levels) -> list[Message]:
        """BLITs (and whatever else) plus a final PRESENT that make the mirrored device
        screen equal ``target``, which becomes the new mirror; ``[]`` if nothing changed.
        A new encoder knows nothing of the screen, so its first update covers all of it."""
        ...

    def set_max_payload(self, max_payload: int) -> None:
        """Keep the payload of every message of later updates within ``max_payload`` bytes
        (at most the device's limit): smaller frames get through a noisy wire."""
        ...


EncoderFactory = Callable[[HelloAck], ScreenEncoder]


@dataclass
class ScreenPipeline:
    """Target slot and update bookkeeping of one link; pure (no clock, no I/O)."""

    factory: EncoderFactory
    target: Target | None = None
    target_gen: int = 0
    """Generation of the newest target; 0 = none submitted yet."""
    presented_gen: int = 0
    """Newest generation the device has acknowledged the PRESENT of (or already showed)."""
    skipped: int = 0
    """Targets replaced before they were sent (coalesced)."""
    presents_acked: int = 0
    _device: HelloAck | None = None
    _encoder: ScreenEncoder | None = None
    _sent_gen: int = 0  # newest generation built into an update in this session
    _queue: deque[Message] = field(default_factory=deque)  # built, not yet given to the Arq
    _update_gen: int | None = None  # generation of the update in flight
    _present_no: int = 0  # session message number of that update's last message
    _stale: bool = False
    _resynced_gen: int = -1
    _max_payload: int | None = None  # a limit below the device's, for a noisy wire

    def submit(self, target: Target) -> int:
        if self.target_gen > self._sent_gen:
            self.skipped += 1
        self.target = target
        self.target_gen += 1
        return self.target_gen

    def new_session(self, device: HelloAck) -> None:
        """A fresh session: the device content is unknown, so resend the newest target whole."""
        self._device = device
        self._encoder = self._new_encoder(device)
        self._drop_update()

    def limit_payload(self, max_payload: int) -> None:
        """Frames of later updates carry at most ``max_payload`` bytes (FrameSizeGovernor)."""
        self._max_payload = max_payload
        if self._encoder is not None:
            self._encoder.set_max_payload(max_payload)

    def _new_encoder(self, device: HelloAck) -> ScreenEncoder:
        encoder = self.factory(device)
        if self._max_payload is not None:
            encoder.set_max_payload(min(self._max_payload, device.max_payload))
        return encoder

    def end_session(self) -> None:
        self._encoder = None
        self._drop_update()

    def invalidate(self) -> None:
        """The device rejected a screen message: its content no longer matches the mirror."""
        if self._resynced_gen == self.target_gen:
            return  # already resent this target whole once; do not loop on a systematic error
        self._stale = True

    def _drop_update(self) -> None:
        self._queue.clear()
        self._update_gen = None
        self._sent_gen = 0
        self._stale = False

    def next_messages(self, acked_no: int, queued_no: int, room: int) -> list[Message]:
        """Messages to hand to the Arq now.

        ``acked_no`` / ``queued_no``: how many sequenced messages of this session the device
        has acknowledged / the Arq has been given; ``room``: how many it can take now.
        """
        if self._update_gen is not None and not self._queue and acked_no >= self._present_no:
            self.presented_gen = max(self.presented_gen, self._update_gen)
            self.presents_acked += 1
            self._update_gen = None
        if self._update_gen is None:
            self._build()
        out: list[Message] = []
        while self._queue and len(out) < room:
            out.append(self._queue.popleft())
            if not self._queue:
                self._present_no = queued_no + len(out)
        return out

    def _build(self) -> None:
        if self._encoder is None or self._device is None:
            return
        if self._stale:
            log.info("resending the whole screen after a device error")
            self._encoder = self._new_encoder(self._device)
            self._stale = False
            self._sent_gen = 0
            self._resynced_gen = self.target_gen
        if self.target is None or self.target_gen <= self._sent_gen:
            return
        self._sent_gen = self.target_gen
        levels = self._materialize(self.target, self._device)
        if levels is None:
            return
        try:
            msgs = self._encoder.update(levels)
        except ValueError as exc:  # e.g. levels beyond the bpp of a device met after show()
            log.warning("dropping a screen the display cannot show: %s", exc)
            return
        if msgs:
            self._queue.extend(msgs)
            self._update_gen = self.target_gen
        else:
            self.presented_gen = self.target_gen  # the device already shows exactly this

    @staticmethod
    def _materialize(target: Target, device: HelloAck) -> Levels | None:
        shape = (device.height_px, device.width_px)
        if isinstance(target, int):
            return np.full(shape, target, dtype=np.uint8)
        if target.shape != shape:
            log.warning("dropping a %s screen: the display is %s", target.shape, shape)
            return None
        return target


def check_target(levels: npt.NDArray[np.integer] | int, device: HelloAck | None) -> Target:
    """A private uint8 copy of ``levels`` (or the one level), checked against the device
    when it is known."""
    if isinstance(levels, int):
        top = 255 if device is None else (1 << device.bpp) - 1
        if not 0 <= levels <= top:
            raise ValueError(f"level must be 0..{top}, got {levels}")
        return levels
    if levels.ndim != 2 or not (
        np.issubdtype(levels.dtype, np.integer) or levels.dtype == np.bool_
    ):
        raise ValueError(
            f"a screen is a 2-D integer array of levels, got {levels.dtype} {levels.shape}"
        )
    if device is not None:
        if levels.shape != (device.height_px, device.width_px):
            raise ValueError(
                f"screen is {levels.shape[1]}x{levels.shape[0]} px, "
                f"the display is {device.width_px}x{device.height_px}"
            )
        top = (1 << device.bpp) - 1
        if levels.size and int(levels.max()) > top:
            raise ValueError(f"levels must be 0..{top} at {device.bpp} bpp")
    if levels.size and int(levels.min()) < 0:
        raise ValueError("levels must not be negative")
    return np.array(levels, dtype=np.uint8, copy=True)


__all__ = ["EncoderFactory", "Levels", "ScreenEncoder", "ScreenPipeline", "Target", "check_target"]
