"""What every check works with: the raw peer, the device's HELLO_ACK, the optional screen
dump, a model of the back buffer, and the assertions the checks share (accepted, refused
with ERROR, shown on the panel), each failing with the spec section it enforces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from firmware_bridge.conformance.peer import CheckFailed, RawPeer, Received, describe, msg_of
from firmware_bridge.conformance.screen import ScreenReader, difference
from firmware_bridge.protocol import Error, HelloAck, Message, MsgType, Pong, Present, Reason
from firmware_bridge.protocol.pixels import Levels


@dataclass(frozen=True)
class Options:
    """Time limits of a run, in seconds."""

    reply_timeout_s: float = 1.0
    """How long to wait for any one answer of the device."""
    check_timeout_s: float = 10.0
    """The most one check may take, waits included."""
    screen_settle_s: float = 0.5
    """How long a screen dump may lag the PRESENT that changed it."""


@dataclass(frozen=True)
class Check:
    """One item of the checklist: ``run`` raises CheckFailed when the device falls short."""

    name: str
    section: str
    title: str
    run: Callable[[Context], None]
    needs_screen: bool = False
    """Pixels are read back through ``--screen``; skipped without it."""


class Context:
    def __init__(self, peer: RawPeer, options: Options, screen: str | None = None) -> None:
        self.peer = peer
        self.options = options
        self.screen_source = screen
        self.screen: ScreenReader | None = None
        self.device: HelloAck | None = None
        self.model: Levels = np.zeros((1, 1), dtype=np.uint8)
        self._frame_id = 0

    def start(self, device: HelloAck) -> None:
        """The first handshake succeeded: geometry is known."""
        self.device = device
        self.model = np.zeros((device.height_px, device.width_px), dtype=np.uint8)
        if self.screen_source is not None:
            self.screen = ScreenReader(
                self.screen_source, device.width_px, device.height_px, device.bpp
            )

    @property
    def dev(self) -> HelloAck:
        assert self.device is not None, "checks run only after the handshake"
        return self.device

    @property
    def ppb(self) -> int:
        return 8 // self.dev.bpp

    def session(self) -> HelloAck:
        """A fresh session (HELLO in any state, §7.3): numbering restarts at 0."""
        return self.peer.hello()

    # -- assertions ----------------------------------------------------------------------

    def settle(self, what: str = "", section: str = "8.3") -> list[Received]:
        """Barrier (PING/PONG) that also checks every sequenced frame was consumed (§8.3);
        ``what`` and ``section`` say what a shortfall means in the running check."""
        frames = self.peer.barrier()
        pong = frames[-1]
        if pong.ack != self.peer.tx_next:  # type: ignore[union-attr]
            raise CheckFailed(
                f"ack={self.peer.tx_next} in the PONG: every sequenced frame sent so far "
                f"consumed and acknowledged{f' ({what})' if what else ''}",
                "; ".join(describe(f) for f in frames[-4:]),
                section=section,
            )
        return frames

    def accept(self, msg: Message, what: str, section: str = "8.3") -> None:
        """Send ``msg``; the device must take it without ERROR."""
        seq = self.peer.send_msg(msg)
        for item in self.settle(what, section):
            err = msg_of(item, Error)
            if err is not None and err.ref_type == msg.TYPE and err.ref_seq == seq:
                raise CheckFailed(f"{what} accepted (ACK, no ERROR)", describe(item))

    def refuse(
        self,
        type_: int,
        payload: bytes,
        reasons: tuple[Reason, ...],
        what: str,
        section: str | None = None,
        sequenced: bool = True,
        version: int = 1,
    ) -> Error:
        """Send a frame the device must answer with ERROR(one of ``reasons``); a sequenced
        one under the next number, which the device must consume (checked by the barrier)
        unless ``version`` is wrong (§7.4: then it is not consumed)."""
        seq = self.peer.tx_next if sequenced else 0
        self.peer.send(type_, payload, seq=seq, version=version)
        if sequenced and version == 1:
            self.peer.tx_next = (seq + 1) % 256
        want = " or ".join(r.name for r in reasons)
        expected = f"ERROR(ref_seq={seq}, ref_type={_type_name(type_)}, {want}) for {what}"
        frames = self.settle()
        for item in frames:
            err = msg_of(item, Error)
            if err is not None and err.ref_type == type_ and err.ref_seq == seq:
                if err.reason not in reasons:
                    raise CheckFailed(expected, describe(item), section)
                return err
        raise CheckFailed(expected, "; ".join(describe(f) for f in frames[-4:]), section)

    def no_answer(self, frames: list[Received], types: tuple[MsgType, ...], what: str) -> None:
        """None of ``frames`` (up to a barrier's PONG) is one of ``types``."""
        for item in frames:
            if msg_of(item, Pong) is None and getattr(item, "type", None) in types:
                raise CheckFailed(what, describe(item))

    def present_and_compare(self, what: str, section: str) -> None:
        """PRESENT, then the screen dump must equal the model of the back buffer."""
        self._frame_id += 1
        self.accept(Present(self._frame_id), "PRESENT")
        self.compare(what, section)

    def compare(self, what: str, section: str) -> None:
        assert self.screen is not None, "a pixel check runs only with --screen"
        same, shown = self.screen.wait_for(self.model, self.options.screen_settle_s)
        if not same:
            raise CheckFailed(what, difference(self.model, shown), section)


def _type_name(type_: int) -> str:
    return MsgType(type_).name if type_ in MsgType._value2member_map_ else f"{type_:#04x}"


__all__ = ["Check", "Context", "Options"]
