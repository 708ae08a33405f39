"""One long-lived task per peripheral, each with a reconnect loop.

* the microphone: open, stream chunks, and when it fails (unplugged) report it, wait with
  exponential backoff and open it again. A source that simply ends (a file played out) ends
  the task: that is the end of the stream, not a failure.
* the display: ``DisplayLink`` reconnects by itself; this task turns its device events into
  messages (buttons, swipes, battery) and its state changes into :class:`PeripheralState`. The
  link's I/O thread wakes it (:class:`LinkSignal`): no polling, so a quiet link costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Final

from firmware_bridge.backoff import Backoff
from firmware_bridge.errors import LinkError
from firmware_bridge.link import DisplayLink
from firmware_bridge.protocol.messages import Error, Event, Log
from firmware_bridge.stats import LinkState
from glasses.errors import GlassesError
from glasses.pipeline.messages import AudioEnded, AudioIn, PeripheralState
from glasses.pipeline.stage import Clock, Send
from glasses.pipeline.worker import Worker
from glasses.runtime.device_input import device_message
from glasses.runtime.listen_gate import ListenGate
from glasses.sources.audio import AudioSource

log = logging.getLogger(__name__)

AUDIO_HANDOVER_CHUNKS: Final = 8


class LinkSignal:
    """Wakes the display-events task from the link's I/O thread: pass :meth:`notify` as the
    ``DisplayLink``'s ``on_event`` and ``on_state``. Before :meth:`attach` it does nothing (the
    task reads the link's state and queued events when it starts)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event = asyncio.Event()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def notify(self, _what: object = None) -> None:
        """Called on the link's thread: something arrived or the state changed."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # the loop has closed: the daemon is stopping
            self._loop = None

    def clear(self) -> None:
        self._event.clear()

    async def wait(self) -> None:
        await self._event.wait()


async def run_microphone(
    open_source: Callable[[], AudioSource],
    send: Send,
    *,
    gate: ListenGate | None = None,
    backoff_min_s: float = 0.5,
    backoff_max_s: float = 8.0,
    clock: Clock = time.monotonic,
) -> None:
    """Stream audio from ``open_source()`` until cancelled, reopening it when it fails.

    While ``gate`` is closed the source is closed too (see :mod:`glasses.runtime.listen_gate`);
    ``gate.source_opened_s`` says when the source was last opened (on ``clock``).
    """
    worker = Worker("microphone")
    backoff, stream = Backoff(backoff_min_s, backoff_max_s), 0
    gate = gate or ListenGate()
    try:
        while True:
            await gate.wait_open()
            try:
                source = await worker.call(open_source)
            except GlassesError as exc:
                again = backoff.failing  # say it once, not on every retry
                log.log(logging.DEBUG if again else logging.WARNING, "microphone: %s", exc)
                await send(PeripheralState("microphone", False, str(exc)))
                await asyncio.sleep(backoff.next_delay_s())
                continue
            stream += 1
            gate.source_opened_s = clock()
            await send(PeripheralState("microphone", True))
            unwatch = gate.watch(source.close)  # closing it ends the iteration below
            try:
                chunks = worker.stream(source.chunks, AUDIO_HANDOVER_CHUNKS)
                async with contextlib.aclosing(chunks):
                    async for chunk in chunks:
                        if not gate.is_open:
                            break
                        await send(AudioIn(chunk, stream))
                        backoff.reset()
            except GlassesError as exc:  # the device went away: report, then reopen it
                if gate.is_open:
                    log.warning("microphone lost: %s", exc)
                    await send(AudioEnded(stream, error=str(exc)))
                    await send(PeripheralState("microphone", False, str(exc)))
                    await asyncio.sleep(backoff.upcoming_s)
                    continue
            finally:
                unwatch()
                source.close()
            await send(AudioEnded(stream))  # played out, or paused: the end of the stream
            if gate.is_open:
                return
    finally:
        worker.close()


async def run_display_events(
    link: DisplayLink, signal: LinkSignal, send: Send, clock: Clock
) -> None:
    """Device events and link state changes as messages, until cancelled; sleeps until
    ``signal`` (notified by ``link``) says something changed."""
    signal.attach(asyncio.get_running_loop())
    seen: LinkState | None = None
    while True:
        signal.clear()  # before looking: a notify from now on wakes the wait below
        state = link.state
        if state is not seen:
            seen = state
            if state is LinkState.CLOSED:  # closed by a fatal error: say which
                try:
                    link.wait_connected(0)
                except LinkError as exc:
                    raise GlassesError(f"the display link stopped: {exc}") from exc
            await send(PeripheralState("display", state is LinkState.CONNECTED, state.value))
        while (event := link.get_event(0)) is not None:  # queued already: takes the lock only
            msg = event.message
            if isinstance(msg, Event):
                translated = device_message(msg, clock())
                if translated is not None:
                    await send(translated)
            elif isinstance(msg, Log):
                log.info("display says: %s", msg.text)
            elif isinstance(msg, Error):
                log.warning("display reports an error: %s", msg)
        await signal.wait()
