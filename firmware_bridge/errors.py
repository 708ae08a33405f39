"""Errors of the host side of the display link.

Every message names what failed and what to do, because the CLI shows it to the user as is.
"""

from __future__ import annotations


class LinkError(Exception):
    """The display link cannot be used: a port that does not open, a handshake that fails."""


class PortLostError(LinkError):
    """An open port went away (USB unplug, simulator exit, I/O error); the link reconnects."""


class HandshakeError(LinkError):
    """HELLO / HELLO_ACK did not produce a session."""


class HandshakeTimeoutError(HandshakeError):
    """No matching HELLO_ACK arrived in time."""


class UnsupportedVersionError(HandshakeError):
    """The device and this host have no protocol version in common; retrying cannot help."""

    def __init__(
        self, device_min: int, device_max: int, host_min: int, host_max: int, board_id: str = ""
    ) -> None:
        board = f" ({board_id})" if board_id else ""
        super().__init__(
            f"the display{board} supports protocol versions {device_min}..{device_max}, "
            f"this host supports {host_min}..{host_max}: update the host or the firmware"
        )
        self.device_min = device_min
        self.device_max = device_max


class LinkClosedError(LinkError):
    """The link was closed (or stopped after a fatal error) and accepts no more work."""
