"""Fault injection on the link's byte streams: lost bytes, bit errors and added latency.

Pure and reproducible: time is passed in, and every byte takes exactly one draw from a
seeded generator, so the same seed and the same bytes give the same faults however the
stream is cut into reads. Device-side faults (a slow MCU, reboots, unplugging) are applied
by the server and the device; their settings live here so one API call changes them all.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np

MAX_DELAY_MS: Final = 60_000.0
"""Longest latency or per-frame slowness: beyond it the link is simply broken (unplug it)."""


def _check_delay(name: str, value: float) -> None:
    # NaN passes every comparison, and one NaN due time would stall the byte queue for good.
    if not (math.isfinite(value) and 0 <= value <= MAX_DELAY_MS):
        raise ValueError(f"{name} must be a number within 0..{MAX_DELAY_MS:g}, not {value}")


@dataclass(frozen=True)
class WireFaults:
    """Faults on one direction of the wire."""

    drop_rate: float = 0.0
    """Probability that a byte is lost (0..1), like a UART overrun."""
    flip_rate: float = 0.0
    """Probability that a byte arrives with one random bit inverted (0..1)."""
    latency_ms: float = 0.0
    """Extra one-way delay for every byte (USB scheduling, a long cable, a radio bridge)."""

    def __post_init__(self) -> None:
        if not (0 <= self.drop_rate <= 1 and 0 <= self.flip_rate <= 1):  # False for NaN
            raise ValueError("drop_rate and flip_rate must be within 0..1")
        if self.drop_rate + self.flip_rate > 1:
            raise ValueError("drop_rate + flip_rate must not exceed 1")
        _check_delay("latency_ms", self.latency_ms)


@dataclass(frozen=True)
class FaultSettings:
    """Everything that can go wrong, all off by default."""

    to_device: WireFaults = WireFaults()
    """Faults on bytes from the host to the device."""
    to_host: WireFaults = WireFaults()
    """Faults on bytes from the device to the host."""
    slow_ms: float = 0.0
    """Extra time the device spends on each received frame (an MCU slower than its link)."""

    def __post_init__(self) -> None:
        _check_delay("slow_ms", self.slow_ms)

    @classmethod
    def both_ways(
        cls,
        drop_rate: float = 0.0,
        flip_rate: float = 0.0,
        latency_ms: float = 0.0,
        slow_ms: float = 0.0,
    ) -> FaultSettings:
        wire = WireFaults(drop_rate, flip_rate, latency_ms)
        return cls(wire, wire, slow_ms)

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass
class FaultStats:
    bytes_in: int = 0
    bytes_dropped: int = 0
    bytes_flipped: int = 0
    bytes_overflowed: int = 0  # more in flight than the latency line holds


class ByteFaults:
    """One direction: :meth:`push` what was sent, :meth:`pop_due` what arrives by now."""

    def __init__(
        self, faults: WireFaults, rng: np.random.Generator, max_in_flight_bytes: int = 1 << 20
    ) -> None:
        self.faults = faults
        self.stats = FaultStats()
        self._rng = rng
        self._max_in_flight = max_in_flight_bytes
        self._in_flight: deque[tuple[float, bytes]] = deque()
        self._in_flight_bytes = 0
        self._last_due_s = float("-inf")

    def push(self, data: bytes, now_s: float) -> None:
        if not data:
            return
        self.stats.bytes_in += len(data)
        data = self.corrupt(data)
        if not data:
            return
        if self._in_flight_bytes + len(data) > self._max_in_flight:
            self.stats.bytes_overflowed += len(data)
            return
        # Never earlier than what was sent before: latency changes must not reorder bytes.
        due_s = max(now_s + self.faults.latency_ms / 1000, self._last_due_s)
        self._last_due_s = due_s
        self._in_flight.append((due_s, data))
        self._in_flight_bytes += len(data)

    def corrupt(self, data: bytes) -> bytes:
        """Apply drop and flip faults: one uniform draw per byte decides its fate."""
        f = self.faults
        u = self._rng.random(len(data))
        if not (f.drop_rate or f.flip_rate):
            return data
        arr = np.frombuffer(data, dtype=np.uint8).copy()
        flip = (u >= f.drop_rate) & (u < f.drop_rate + f.flip_rate)
        if flip.any():
            # The rest of the same draw picks the bit, so no extra draws are needed.
            bit = ((u[flip] - f.drop_rate) / f.flip_rate * 8).astype(np.uint8).clip(0, 7)
            arr[flip] ^= np.left_shift(np.uint8(1), bit)
            self.stats.bytes_flipped += int(flip.sum())
        keep = u >= f.drop_rate
        self.stats.bytes_dropped += len(data) - int(keep.sum())
        return bytes(arr[keep].tobytes())

    def pop_due(self, now_s: float) -> bytes:
        out = bytearray()
        while self._in_flight and self._in_flight[0][0] <= now_s:
            chunk = self._in_flight.popleft()[1]
            self._in_flight_bytes -= len(chunk)
            out += chunk
        return bytes(out)

    @property
    def next_due_s(self) -> float | None:
        return self._in_flight[0][0] if self._in_flight else None

    def clear(self) -> None:
        """Forget bytes in flight (the cable was pulled)."""
        self._in_flight.clear()
        self._in_flight_bytes = 0
        self._last_due_s = float("-inf")


class LinkFaults:
    """Both directions, from one seed (None: a fresh random seed)."""

    def __init__(self, settings: FaultSettings, seed: int | None = None) -> None:
        to_device, to_host = np.random.SeedSequence(seed).spawn(2)
        self.to_device = ByteFaults(settings.to_device, np.random.default_rng(to_device))
        self.to_host = ByteFaults(settings.to_host, np.random.default_rng(to_host))
        self.settings = settings

    def apply(self, settings: FaultSettings) -> None:
        self.settings = settings
        self.to_device.faults = settings.to_device
        self.to_host.faults = settings.to_host

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            "to_device": dataclasses.asdict(self.to_device.stats),
            "to_host": dataclasses.asdict(self.to_host.stats),
        }
