"""A stand-in for the ``sounddevice`` module: devices from a table, a stream fed by a thread."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import numpy as np


class FakeStatus:
    def __init__(self, overflow: bool) -> None:
        self.input_overflow = overflow

    def __bool__(self) -> bool:
        return self.input_overflow


class FakeSoundDevice:
    """``devices``: dicts like PortAudio's; ``signal``: what the microphone hears (device rate)."""

    def __init__(
        self,
        devices: list[dict[str, Any]],
        *,
        default_input: int = 0,
        supports_16k: bool = False,
        signal: np.ndarray | None = None,
        overflow_every: int = 0,
        die_after_blocks: int | None = None,
    ) -> None:
        self.devices = devices
        self.default = SimpleNamespace(device=(default_input, -1))
        self.supports_16k = supports_16k
        self.signal = signal if signal is not None else np.zeros(0, dtype=np.float32)
        self.overflow_every = overflow_every
        self.die_after_blocks = die_after_blocks
        self.streams: list[FakeStream] = []

    def query_devices(self) -> list[dict[str, Any]]:
        return self.devices

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "ALSA"}]

    def check_input_settings(self, *, samplerate: float, **_: Any) -> None:
        if samplerate == 16_000 and not self.supports_16k:
            raise ValueError("Invalid sample rate")

    def InputStream(self, **kwargs: Any) -> FakeStream:
        stream = FakeStream(self, **kwargs)
        self.streams.append(stream)
        return stream


class FakeStream:
    def __init__(
        self, sd: FakeSoundDevice, *, samplerate: float, blocksize: int, callback: Any, **kw: Any
    ):
        self.sd, self.rate, self.block, self.callback = sd, int(samplerate), blocksize, callback
        self.kwargs = kw
        self.active = False
        self.closed = False
        self._thread = threading.Thread(target=self._pump, daemon=True)

    def start(self) -> None:
        self.active = True
        self._thread.start()

    def _pump(self) -> None:
        # Plays the signal in blocks, faster than real time, then goes quiet (or dies).
        signal = self.sd.signal
        for i, start in enumerate(range(0, len(signal), self.block)):
            if not self.active:
                return
            if self.sd.die_after_blocks is not None and i >= self.sd.die_after_blocks:
                self.active = False  # as PortAudio does when the device disappears
                return
            block = signal[start : start + self.block]
            overflow = bool(self.sd.overflow_every) and (i + 1) % self.sd.overflow_every == 0
            self.callback(block.reshape(-1, 1), len(block), None, FakeStatus(overflow))
            time.sleep(0.001)

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.closed = True
        self.active = False


def usb_mic(
    name: str = "USB PnP Audio Device: Audio (hw:1,0)", rate: float = 48_000.0
) -> dict[str, Any]:
    return {
        "name": name,
        "hostapi": 0,
        "max_input_channels": 1,
        "max_output_channels": 0,
        "default_samplerate": rate,
    }


def speaker(name: str = "HDMI output") -> dict[str, Any]:
    return {
        "name": name,
        "hostapi": 0,
        "max_input_channels": 0,
        "max_output_channels": 2,
        "default_samplerate": 48_000.0,
    }
