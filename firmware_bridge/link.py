"""The host end of the display link: one I/O thread per display around a :class:`LinkSession`.

The thread owns the port: it opens it (again, with backoff, whenever it goes away), writes
what the session produces, reads with a timeout bounded by the session's next deadline and
feeds back what arrived. All decisions live in the session; callers only touch it under the
link's lock and wake the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

from firmware_bridge.config import Backoff, LinkConfig
from firmware_bridge.errors import HandshakeTimeoutError, LinkClosedError, LinkError, PortLostError
from firmware_bridge.protocol.messages import Reset, SetBrightness, Sleep, Wake
from firmware_bridge.screen import EncoderFactory, ScreenEncoder
from firmware_bridge.session import LinkSession
from firmware_bridge.stats import DeviceEvent, DeviceInfo, LinkState, LinkStats
from firmware_bridge.transport import Transport, open_transport

log = logging.getLogger(__name__)

READ_CHUNK_BYTES: Final = 4096
JOIN_TIMEOUT_S: Final = 5.0
MAX_BLOCK_S: Final = 1.0  # even a wakeable port is polled now and then, as a safety net
_T = TypeVar("_T")

TransportFactory = Callable[[LinkConfig], Transport]


def open_configured_transport(config: LinkConfig) -> Transport:
    """The port of ``config`` (its URL, baud and write timeout): the default transport factory."""
    return open_transport(config.url, config.baud, write_timeout_s=config.write_timeout_s)


class DisplayLink:
    """A reliable, self-healing connection to one display. Thread-safe.

    ``on_event`` and ``on_state`` are called on the I/O thread; keep them short.
    """

    def __init__(
        self,
        config: LinkConfig,
        encoder_factory: EncoderFactory,
        *,
        on_event: Callable[[DeviceEvent], None] | None = None,
        on_state: Callable[[LinkState], None] | None = None,
        transport_factory: TransportFactory = open_configured_transport,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._session = LinkSession(config, encoder_factory, clock=clock)
        self._on_event = on_event
        self._on_state = on_state
        self._open = transport_factory
        self._clock = clock
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transport: Transport | None = None
        self._woken = False

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the I/O thread. Unless ``config.wait_for_port``, a port that does not open
        raises LinkError here."""
        if self._thread is not None:
            raise RuntimeError("DisplayLink.start() called twice")
        first = None if self.config.wait_for_port else self._open(self.config)
        self._thread = threading.Thread(
            target=self._run, args=(first,), name=f"display-link {self.config.url}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("the I/O thread of %s did not stop in time", self.config.url)
        self._step(lambda s: s.close())

    def __enter__(self) -> DisplayLink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- observation ---------------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        return self._session.state

    @property
    def device(self) -> DeviceInfo | None:
        return self._session.device

    @property
    def stats(self) -> LinkStats:
        with self._cond:
            return self._session.stats()

    def wait_connected(self, timeout_s: float) -> DeviceInfo:
        """Block until a session is up; raises the fatal handshake error, or on timeout the
        last port error or HandshakeTimeoutError."""
        s = self._session
        with self._cond:
            self._cond.wait_for(
                lambda: s.state in (LinkState.CONNECTED, LinkState.CLOSED), timeout_s
            )
            if s.state is LinkState.CONNECTED and s.device is not None:
                return s.device
            if s.fatal is not None:
                raise s.fatal
            if s.state is LinkState.CLOSED:
                raise LinkClosedError(f"the display link {self.config.url} is closed")
            if s.last_error is not None:
                raise s.last_error
            raise HandshakeTimeoutError(
                f"no answer from the display at {self.config.url} within {timeout_s:g} s "
                f"({s.handshake.attempts} HELLO sent): check that the firmware or simulator is "
                f"running and that the baud rate ({self.config.baud}) matches"
            )

    def wait_presented(self, timeout_s: float) -> bool:
        """True once the device has acknowledged showing the newest screen submitted so far."""
        s = self._session
        with self._cond:
            gen = s.screen.target_gen
            return self._cond.wait_for(
                lambda: s.screen.presented_gen >= gen or s.state is LinkState.CLOSED, timeout_s
            ) and (s.screen.presented_gen >= gen)

    def get_event(self, timeout_s: float | None = None) -> DeviceEvent | None:
        """The oldest unread device event, waiting up to ``timeout_s``; None if there is none."""
        events = self._session.traffic.events
        with self._cond:
            self._cond.wait_for(lambda: bool(events) or self._stop.is_set(), timeout_s)
            return events.popleft() if events else None

    # -- requests ------------------------------------------------------------------------

    def show(self, levels: npt.NDArray[np.integer]) -> None:
        """Make ``levels`` the screen; replaces any screen not yet sent (never queues)."""
        self._request(lambda s: s.show(levels))

    def clear(self, level: int = 0) -> None:
        """Fill the screen with one level (sent as a CLEAR by the compositor)."""
        self._request(lambda s: s.show(level))

    def set_brightness(self, level: int) -> None:
        if not 0 <= level <= 255:
            raise ValueError(f"brightness must be 0..255, got {level}")
        self._request(lambda s: s.command(SetBrightness(level)))

    def sleep(self) -> None:
        self._request(lambda s: s.command(Sleep()))

    def wake(self) -> None:
        self._request(lambda s: s.command(Wake()))

    def reset(self) -> None:
        """Reboot the device; the link reconnects and resends the screen."""
        self._request(lambda s: s.command(Reset()))

    def set_keepalive(self, keepalive_s: float | None) -> None:
        """PING after this long without hearing from the device (None: ``config.keepalive_s``);
        loss is declared after three times as long. Longer while the panel sleeps: fewer
        wake-ups on both ends, and a lost link matters less when nothing is shown."""
        with self._cond:
            self._session.set_keepalive(keepalive_s)
        self._wake()  # a shorter interval must start counting now

    def _request(self, action: Callable[[LinkSession], object]) -> None:
        with self._cond:
            if self._session.state is LinkState.CLOSED:
                raise self._session.fatal or LinkClosedError(f"{self.config.url} is closed")
            action(self._session)
        self._wake()

    def _wake(self) -> None:
        transport = self._transport
        # One pending wake is enough; more would pile up in pyserial's abort pipe.
        if transport is not None and not self._woken:
            self._woken = True
            transport.wake()

    # -- the I/O thread ------------------------------------------------------------------

    def _run(self, transport: Transport | None) -> None:
        try:
            self._serve(transport)
        except Exception as exc:  # a bug must not leave callers waiting on a dead thread
            log.exception("display link I/O thread failed")
            if transport is not None:
                transport.close()
            error = LinkError(f"the display link {self.config.url} failed: {exc!r}")
            self._step(partial(LinkSession.fail, error=error))

    def _serve(self, transport: Transport | None) -> None:
        backoff = Backoff(self.config.reconnect_backoff_min_s, self.config.reconnect_backoff_max_s)
        while not self._stop.is_set() and self._session.fatal is None:
            if transport is None:
                try:
                    transport = self._open(self.config)
                except LinkError as exc:
                    log.debug("opening %s failed: %s", self.config.url, exc)
                    self._step(partial(LinkSession.port_failed, error=exc))
                    self._stop.wait(backoff.next_delay_s())
                    continue
            self._transport = transport
            self._step(lambda s: s.port_opened(self._clock()))
            try:
                self._pump(transport, backoff)
            except PortLostError as exc:
                log.warning("display port lost: %s", exc)
                self._step(partial(LinkSession.port_lost, error=exc))
                self._stop.wait(backoff.next_delay_s())
            finally:
                self._transport = None
                transport.close()
                transport = None
        self._step(lambda s: s.close())

    def _pump(self, transport: Transport, backoff: Backoff) -> None:
        s = self._session
        block_s = MAX_BLOCK_S if transport.wakeable else self.config.io_tick_s
        while not self._stop.is_set():
            with self._cond:
                now = self._clock()
                out = s.poll(now)
                timeout = min(max(s.next_wakeup_s(now) - now, 0.0), block_s)
                self._woken = False  # requests from now on must wake the coming read
            if out:
                transport.write(b"".join(out))
            if s.fatal is not None:
                return
            data = transport.read(READ_CHUNK_BYTES, timeout)
            self._step(partial(LinkSession.receive, data=data, now_s=self._clock()))
            if s.state is LinkState.CONNECTED:
                backoff.reset()

    def _step(self, action: Callable[[LinkSession], object]) -> None:
        """Run ``action`` on the session under the lock, then report what changed."""
        s = self._session
        with self._cond:
            action(s)
            transitions, s.transitions = s.transitions, []
            fresh = list(s.traffic.fresh)
            s.traffic.fresh.clear()
            self._cond.notify_all()
        for state in transitions:
            log.info("display link %s: %s", self.config.url, state.value)
            if self._on_state is not None:
                self._safe_call(self._on_state, state)
        if self._on_event is not None:
            for event in fresh:
                self._safe_call(self._on_event, event)

    @staticmethod
    def _safe_call(fn: Callable[[_T], None], arg: _T) -> None:
        try:
            fn(arg)
        except Exception:  # a broken callback must not kill the link
            log.exception("display link callback %r failed", fn)


__all__ = [
    "DeviceEvent",
    "DeviceInfo",
    "DisplayLink",
    "EncoderFactory",
    "LinkConfig",
    "LinkState",
    "LinkStats",
    "ScreenEncoder",
    "TransportFactory",
]
