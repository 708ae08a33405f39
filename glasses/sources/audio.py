"""The audio source contract: 16 kHz mono float32 chunks stamped with their sample position."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

# Silero VAD and SenseVoice both want 16 kHz; every source resamples to it so nothing downstream
# ever has to ask.
SAMPLE_RATE_HZ = 16_000

FloatArray = npt.NDArray[np.float32]
_S = TypeVar("_S", bound="ClosingSource")


@dataclass(frozen=True, eq=False)
class AudioChunk:
    """A run of mono float32 samples in [-1, 1].

    ``start_sample`` counts samples since the source started (at ``sample_rate_hz``), so time is
    data: downstream state machines never read a clock.  A source that lost audio (a microphone
    overflow) advances ``start_sample`` past the gap.
    """

    samples: FloatArray
    start_sample: int
    sample_rate_hz: int = SAMPLE_RATE_HZ

    @property
    def end_sample(self) -> int:
        return self.start_sample + len(self.samples)

    @property
    def start_s(self) -> float:
        return self.start_sample / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate_hz


@dataclass(frozen=True)
class SourceStats:
    """What a source lost; a live source reports it so the user can see a struggling device."""

    delivered_samples: int = 0
    dropped_samples: int = 0
    overflows: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


@runtime_checkable
class AudioSource(Protocol):
    """Anything that yields :class:`AudioChunk` at 16 kHz mono; closing it stops the iteration."""

    @property
    def sample_rate_hz(self) -> int: ...

    def chunks(self) -> Iterator[AudioChunk]: ...

    def stats(self) -> SourceStats: ...

    def close(self) -> None: ...


class ClosingSource(abc.ABC):
    """Base giving sources ``with`` support through their ``close``."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def to_mono_float32(block: npt.NDArray[np.generic]) -> FloatArray:
    """Average channels (``[frames, channels]``) to one float32 channel."""
    array = np.asarray(block)
    if array.ndim == 2:
        array = array.mean(axis=1) if array.shape[1] > 1 else array[:, 0]
    return np.ascontiguousarray(array, dtype=np.float32)
