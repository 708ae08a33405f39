"""The device's image list as MCUmgr image management reports it (its "image state" rows).

One record for both ends: the host reads it from the device's reply (``glasses flash``) and
the simulated MCU (``hw_sim``) builds its reply from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SlotState:
    """One row of the device's image list (MCUmgr image state)."""

    slot: int
    version: str
    hash: bytes
    active: bool
    confirmed: bool
    pending: bool
    permanent: bool

    @property
    def version_triple(self) -> tuple[int, int, int]:
        parts = [int(p) for p in self.version.split(".")[:3] if p.isdigit()] + [0, 0, 0]
        return parts[0], parts[1], parts[2]


__all__ = ["SlotState"]
