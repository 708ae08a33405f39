"""Go-back-N automatic repeat request over frames: the reliability layer of the link.

Both ends run one :class:`Arq`. It is pure: it takes received frames and the current time
as data and returns the bytes to write, so tests drive it with no clock and no port.

- Sequenced messages get consecutive 8-bit sequence numbers; at most ``window`` are
  unacknowledged at once. Every frame carries ``ack`` = the next sequence number expected
  from the peer (cumulative acknowledgement).
- A receiver delivers only the expected sequence number; a duplicate is dropped and
  re-acknowledged, a frame from the future is dropped and answered with one NAK
  (OUT_OF_SEQUENCE), which makes the sender go back at once instead of waiting a timeout.
- The retransmit timeout adapts to the measured round trip (Jacobson/Karels, Karn's rule)
  and backs off exponentially while nothing is acknowledged.
- Wire time counts apart from the timeout: with ``ArqConfig.byte_time_s`` set, the Arq keeps
  a model of its own output on the line, so a frame's timeout only starts running once its
  last byte can have left (behind the bytes queued before it; counted ``wire_margin`` times
  over for a line slower than nominal), and round-trip samples are measured from then. The
  timeout then estimates the peer's turnaround, not frame sizes: a 4 KB frame after a run
  of small ones (45 ms on the wire at 921600 baud, 360 ms at 115200) is not resent before it
  can have been answered.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

from firmware_bridge.protocol.frame import Frame, encode_frame
from firmware_bridge.protocol.messages import (
    SEQUENCED,
    Ack,
    Message,
    Nak,
    PayloadError,
    Reason,
    decode_payload,
    encode_payload,
)

SEQ_MOD: Final = 256
MAX_WINDOW: Final = 127  # half the sequence space, so old and new numbers never mix
_SEQUENCED_CODES: Final = frozenset(int(t) for t in SEQUENCED)


class QueueFullError(RuntimeError):
    """More sequenced messages were queued than ``ArqConfig.max_pending`` allows."""


@dataclass(frozen=True)
class ArqConfig:
    window: int = 8
    """Sequenced frames in flight at most; the peer's advertised window caps it."""
    max_pending: int = 256
    """Sequenced messages waiting for a window slot; queueing more raises QueueFullError."""
    initial_rto_s: float = 0.5
    min_rto_s: float = 0.05
    max_rto_s: float = 4.0
    byte_time_s: float = 0.0
    """Time one byte takes on the wire (10 / baud on an 8N1 UART); 0: bytes take no time
    (USB-CDC, tests). Added to the retransmit deadline, taken off round-trip samples."""
    nak_repeat_s: float = 0.01
    """While newer frames keep arriving and the expected one does not, its NAK is repeated at
    most this often: on a noisy wire the NAK or the resent frame is lost too, and waiting for
    the sender's timeout instead costs far more."""
    line_lead_s: float = 0.005
    """How far the line may run ahead of the wire model (a USB-serial adapter or a UART that
    sends a buffered burst at once, a clock faster than nominal): a NAK for a resent frame
    that arrives this much before the model says the frame can have arrived still counts."""
    wire_margin: float = 1.25
    """The deadline counts the wire time this many times over: a line runs somewhat slower
    than its nominal rate (UART clock error, drivers, a busy simulator), and over a window of
    large frames the lag adds up (8 x 4 KiB take 2.9 s at 115200 baud)."""

    def __post_init__(self) -> None:
        if self.byte_time_s < 0:
            raise ValueError(f"byte_time_s must not be negative, got {self.byte_time_s}")
        if self.line_lead_s < 0:
            raise ValueError(f"line_lead_s must not be negative, got {self.line_lead_s}")
        if self.wire_margin < 1:
            raise ValueError(f"wire_margin must be at least 1, got {self.wire_margin}")


@dataclass
class ArqStats:
    frames_sent: int = 0
    frames_received: int = 0
    delivered: int = 0  # sequenced frames acknowledged by the peer
    recoveries: int = 0  # go-backs and timeouts: each a loss of (at least) one frame
    retransmits: int = 0
    duplicates: int = 0
    out_of_sequence: int = 0
    naks_received: int = 0
    rtt_s: float | None = None  # smoothed round-trip time of sequenced frames


@dataclass
class _InFlight:
    seq: int
    type: int
    payload: bytes
    sent_s: float  # when it was written (last time)
    on_wire_s: float  # when its last byte has left at the nominal rate, behind earlier bytes
    retransmitted: bool = False


def seq_diff(a: int, b: int) -> int:
    """``a - b`` in sequence space, in -128..127."""
    return (a - b + 128) % SEQ_MOD - 128


@dataclass
class Arq:
    config: ArqConfig = field(default_factory=ArqConfig)
    stats: ArqStats = field(default_factory=ArqStats)
    window: int = 0  # effective window; set from config and the peer's HELLO/HELLO_ACK
    tx_next: int = 0
    rx_expected: int = 0
    _in_flight: deque[_InFlight] = field(default_factory=deque)
    _pending: deque[Message] = field(default_factory=deque)
    _ack_due: bool = False
    _nak_sent_for: int | None = None
    _nak_sent_s: float = 0.0
    _rto_s: float = 0.0
    _srtt_s: float | None = None
    _rttvar_s: float = 0.0
    _timer_start_s: float = 0.0
    _wire_free_s: float = 0.0  # when everything this Arq wrote has left (byte_time_s model)
    _go_back: bool = False

    def __post_init__(self) -> None:
        self.reset()

    def reset(self, peer_window: int | None = None) -> None:
        """Start a new session (after HELLO / HELLO_ACK): numbering restarts at 0."""
        peer = MAX_WINDOW if peer_window is None else peer_window  # 0 is a window, not "none"
        self.window = max(1, min(self.config.window, peer, MAX_WINDOW))
        self.tx_next = 0
        self.rx_expected = 0
        self._in_flight.clear()
        self._pending.clear()
        self._ack_due = False
        self._nak_sent_for = None
        self._rto_s = self.config.initial_rto_s
        self._go_back = False
        # The handshake was answered, so what was written before it has left the wire.
        self._wire_free_s = 0.0

    # -- sending -------------------------------------------------------------------------

    @property
    def unacked(self) -> int:
        return len(self._in_flight)

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def idle(self) -> bool:
        """Everything queued has been sent and acknowledged."""
        return not self._in_flight and not self._pending

    @property
    def largest_payload(self) -> int:
        """The largest payload among the sequenced messages not yet acknowledged."""
        sizes = [len(item.payload) for item in self._in_flight]
        sizes += [len(encode_payload(msg)) for msg in self._pending]
        return max(sizes, default=0)

    @property
    def rto_s(self) -> float:
        return self._rto_s

    @property
    def retransmit_at_s(self) -> float | None:
        """When the frames in flight are resent unless acknowledged; None if none are.

        The timer (started by the first frame sent into an empty window, restarted by every
        acknowledgement that removes frames and by every retransmission) runs for one RTO, but
        never from before the oldest frame in flight can have left the wire.
        """
        if not self._in_flight:
            return None
        head = self._in_flight[0]
        left_s = head.sent_s + (head.on_wire_s - head.sent_s) * self.config.wire_margin
        return max(self._timer_start_s, left_s) + self._rto_s

    def queue(self, msg: Message) -> None:
        """Queue a sequenced message; it goes out from :meth:`poll` when the window allows."""
        if msg.TYPE not in SEQUENCED:
            raise ValueError(f"{msg.TYPE.name} is not sequenced; send it with encode_unsequenced")
        if len(self._pending) >= self.config.max_pending:
            raise QueueFullError(f"more than {self.config.max_pending} messages waiting")
        self._pending.append(msg)

    def encode_unsequenced(self, msg: Message) -> bytes:
        """Wire bytes for an unsequenced message, carrying the current acknowledgement."""
        if msg.TYPE in SEQUENCED:
            raise ValueError(f"{msg.TYPE.name} is sequenced; use queue()")
        self._ack_due = False
        self.stats.frames_sent += 1
        return encode_frame(
            Frame(type=msg.TYPE, seq=0, ack=self.rx_expected, payload=encode_payload(msg))
        )

    def poll(self, now_s: float) -> list[bytes]:
        """Frames to write now: retransmissions, new frames within the window, or an ACK."""
        out: list[bytes] = []
        deadline = self.retransmit_at_s
        if deadline is not None and (self._go_back or now_s >= deadline):
            if not self._go_back:
                self._rto_s = min(self._rto_s * 2, self.config.max_rto_s)  # back off
            self._go_back = False
            self.stats.recoveries += 1
            for item in self._in_flight:
                item.retransmitted = True
                # Re-encoded so the old frame carries the current acknowledgement.
                out.append(self._encode(item.type, item.seq, item.payload))
                item.sent_s, item.on_wire_s = now_s, self._on_wire(len(out[-1]), now_s)
                self.stats.retransmits += 1
            self._timer_start_s = now_s
        while self._pending and len(self._in_flight) < self.window:
            msg = self._pending.popleft()
            seq = self.tx_next
            self.tx_next = (self.tx_next + 1) % SEQ_MOD
            payload = encode_payload(msg)
            if not self._in_flight:
                self._timer_start_s = now_s
            out.append(self._encode(msg.TYPE, seq, payload))
            on_wire_s = self._on_wire(len(out[-1]), now_s)
            self._in_flight.append(_InFlight(seq, msg.TYPE, payload, now_s, on_wire_s))
        if out:
            self._ack_due = False
        elif self._ack_due:
            self._ack_due = False
            out.append(encode_frame(Frame(type=Ack.TYPE, ack=self.rx_expected)))
            self._on_wire(len(out[-1]), now_s)
        self.stats.frames_sent += len(out)
        return out

    def _on_wire(self, n_bytes: int, now_s: float) -> float:
        """``n_bytes`` written at ``now_s``: when their last byte leaves, behind what this Arq
        wrote before. (Small unsequenced frames written without a time are not counted.)"""
        self._wire_free_s = max(self._wire_free_s, now_s) + n_bytes * self.config.byte_time_s
        return self._wire_free_s

    def _encode(self, type_: int, seq: int, payload: bytes) -> bytes:
        return encode_frame(Frame(type=type_, seq=seq, ack=self.rx_expected, payload=payload))

    # -- receiving -----------------------------------------------------------------------

    def receive(self, frame: Frame, now_s: float) -> tuple[list[Message], list[bytes]]:
        """Process one checked frame: returns (messages to deliver in order, bytes to write).

        A sequenced frame is checked for order before its payload is decoded. A payload that
        does not fit its type raises PayloadError; for an in-order sequenced frame the number
        is consumed first, so the sender is not made to retransmit a message that can never
        succeed (the caller answers with an ERROR).
        """
        self.stats.frames_received += 1
        self._on_ack(frame.ack, now_s)
        if frame.type in _SEQUENCED_CODES:
            d = seq_diff(frame.seq, self.rx_expected)
            if d < 0:
                self.stats.duplicates += 1
                self._ack_due = True  # our earlier ACK was probably lost
                return [], []
            if d > 0:
                self.stats.out_of_sequence += 1
                return [], self._nak_once(Reason.OUT_OF_SEQUENCE, now_s)
            self.rx_expected = (self.rx_expected + 1) % SEQ_MOD
            self._nak_sent_for = None
            self._ack_due = True
        msg = decode_payload(frame.type, frame.payload)
        if isinstance(msg, Nak):
            self.stats.naks_received += 1
            # A NAK caused by frames sent before our last go-back arrives before the resent
            # head can have reached the peer: going back again for it only duplicates frames.
            # Only a resent head can be NAKed stale; for a first copy the NAK is news. The
            # wire model may lag the line by up to ``line_lead_s``: a NAK ignored wrongly
            # costs a whole timeout, one accepted wrongly only a few resent frames.
            head = self._in_flight[0] if self._in_flight else None
            if (
                msg.reason in (Reason.OUT_OF_SEQUENCE, Reason.BAD_CRC)
                and head is not None
                and (not head.retransmitted or now_s >= head.on_wire_s - self.config.line_lead_s)
            ):
                self._go_back = True
        return [msg], []

    def corrupt_frame_seen(self, now_s: float | None = None) -> list[bytes]:
        """A frame failed its CRC: ask the peer to resend (once per expected number, or again
        after ``nak_repeat_s`` when the time is given)."""
        return self._nak_once(Reason.BAD_CRC, now_s)

    def observe_rtt(self, rtt_s: float) -> None:
        """A round trip measured outside the window (a PING's PONG): never ambiguous, so it
        keeps the timeout honest while every data frame is a retransmission (Karn's rule)."""
        self._sample_rtt(rtt_s)

    def _nak_once(self, reason: Reason, now_s: float | None) -> list[bytes]:
        if self._nak_sent_for == self.rx_expected and (
            now_s is None or now_s - self._nak_sent_s < self.config.nak_repeat_s
        ):
            return []
        self._nak_sent_for = self.rx_expected
        self._nak_sent_s = now_s if now_s is not None else 0.0
        return [self.encode_unsequenced(Nak(self.rx_expected, reason))]

    def _on_ack(self, ack: int, now_s: float) -> None:
        if seq_diff(ack, self.tx_next) > 0:
            return  # acknowledges frames never sent: stale, from an earlier session
        progressed = False
        while self._in_flight and seq_diff(ack, self._in_flight[0].seq) > 0:
            item = self._in_flight.popleft()
            progressed = True
            self.stats.delivered += 1
            if not item.retransmitted:
                # From its last byte, so the RTO learns the turnaround and not frame sizes.
                # (Below 0 if the line is faster than byte_time_s says, e.g. USB-CDC.)
                self._sample_rtt(max(0.0, now_s - item.on_wire_s))
        if progressed:
            self._timer_start_s = now_s
            self._go_back = False
            if self._srtt_s is not None:
                # The peer is answering: drop the backoff (as TCP stacks do on new data
                # acknowledged), or a noisy wire keeps the timeout at its maximum.
                self._rto_s = self._rto_from_estimate()

    def _sample_rtt(self, rtt_s: float) -> None:
        if self._srtt_s is None:
            self._srtt_s, self._rttvar_s = rtt_s, rtt_s / 2
        else:
            self._rttvar_s = 0.75 * self._rttvar_s + 0.25 * abs(self._srtt_s - rtt_s)
            self._srtt_s = 0.875 * self._srtt_s + 0.125 * rtt_s
        self.stats.rtt_s = self._srtt_s
        self._rto_s = self._rto_from_estimate()

    def _rto_from_estimate(self) -> float:
        assert self._srtt_s is not None
        rto = self._srtt_s + max(4 * self._rttvar_s, 0.01)
        return min(max(rto, self.config.min_rto_s), self.config.max_rto_s)


__all__ = ["Arq", "ArqConfig", "ArqStats", "PayloadError", "QueueFullError", "seq_diff"]
