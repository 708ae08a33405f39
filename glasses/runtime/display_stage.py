"""Showing: the newest screen -> pixel levels -> the display link.

The inbox keeps only the newest screen and the link itself never queues screens, so a display
slower than the content skips intermediate screens and always ends on the last one. Rendering
and waiting for the device's acknowledgement run on a worker thread. Latency is recorded from
the message that caused a screen (a final transcript, an OCR result, a button) to the first
bytes on the wire and to the device's acknowledgement of the PRESENT.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from firmware_bridge.errors import LinkError
from firmware_bridge.protocol.arq import QueueFullError
from firmware_bridge.stats import LinkState
from glasses.display.raster import Renderer
from glasses.display.views import PageView, Screen
from glasses.pipeline.channel import Channel
from glasses.pipeline.messages import Message, ScreenUpdate
from glasses.pipeline.metrics import present_observations
from glasses.pipeline.stage import Send, Stage
from glasses.pipeline.worker import Worker

log = logging.getLogger(__name__)

PRESENT_WAIT_S: Final = 0.5  # then look for a newer screen, and wait again
# The link's PING interval while the panel sleeps (awake: the link's own, 1 s). Under the
# simulator's 3 s "host attached" window; a lost link is noticed in 7.5 s, unseen anyway.
ASLEEP_KEEPALIVE_S: Final = 2.5


class ScreenSink(Protocol):
    """What the stage needs of ``firmware_bridge.link.DisplayLink``."""

    def show(self, levels: npt.NDArray[np.integer]) -> None: ...

    def wait_presented(self, timeout_s: float) -> bool: ...

    @property
    def state(self) -> LinkState: ...


class PanelSwitch(Protocol):
    """The panel commands of ``firmware_bridge.link.DisplayLink`` (protocol §9.5)."""

    def sleep(self) -> None: ...

    def wake(self) -> None: ...

    def set_brightness(self, level: int) -> None: ...

    def set_keepalive(self, keepalive_s: float | None) -> None: ...


class RendererLayout:
    """The modes' :class:`~glasses.modes.base.Layout` on a real font. Uses its own renderer:
    a FreeType face must not be used by two threads at once."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def page_view(self, text: str) -> PageView:
        return self.renderer.page_view(text)

    def clean(self, text: str) -> str:
        missing = set(self.renderer.missing_glyphs(text))
        return "".join(ch for ch in text if ch not in missing) if missing else text

    def fits_line(self, text: str) -> bool:
        return self.renderer.layout.fits_line(text)


class WireProbe:
    """When did bytes first go on the wire after a screen was handed to the link?

    Wraps the link's transports; any write after :meth:`arm` counts, so an occasional
    keep-alive PING sent just before the BLIT makes the figure a little short.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.armed = False
        self.first_write_s: float | None = None

    def arm(self) -> None:
        self.first_write_s = None
        self.armed = True

    def wrote(self) -> None:
        if self.armed:
            self.first_write_s = self.clock()
            self.armed = False

    def wrap(self, factory: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda config: _ProbedTransport(factory(config), self)


class _ProbedTransport:
    def __init__(self, inner: Any, probe: WireProbe) -> None:
        self._inner, self._probe = inner, probe
        self.url: str = inner.url
        self.wakeable: bool = inner.wakeable

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        data: bytes = self._inner.read(max_bytes, timeout_s)
        return data

    def write(self, data: bytes) -> None:
        self._probe.wrote()
        self._inner.write(data)

    def wake(self) -> None:
        self._inner.wake()

    def close(self) -> None:
        self._inner.close()


class DisplayStage(Stage[ScreenUpdate]):
    def __init__(
        self,
        inbox: Channel[ScreenUpdate],
        send: Send,
        link: ScreenSink,
        renderer: Renderer,
        *,
        probe: WireProbe | None = None,
        panel: PanelSwitch | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__("display", inbox, send, **kwargs)
        self.link = link
        self.renderer = renderer
        self.probe = probe
        self.panel = panel
        self.worker = Worker("display")
        self.presented: Screen | None = None
        self.awake = True
        self.held: ScreenUpdate | None = None  # the newest screen that came while asleep

    def set_panel(self, awake: bool | None = None, brightness: int | None = None) -> None:
        """Panel on or off and its brightness (the power stage's). Asleep, new screens are held,
        not sent: the panel keeps the last one, shown again at once on WAKE, and the newest
        held screen follows it. Asleep, the link PINGs less often (``ASLEEP_KEEPALIVE_S``)."""
        if self.panel is None:
            return
        try:
            if brightness is not None:
                self.panel.set_brightness(brightness)
            if awake is not None and awake != self.awake:
                if awake:
                    self.panel.wake()
                    self.panel.set_keepalive(None)
                else:
                    self.panel.sleep()
                    self.panel.set_keepalive(ASLEEP_KEEPALIVE_S)
        except (LinkError, QueueFullError) as exc:  # closing down, or a stuck link: no matter
            log.warning("display: cannot switch the panel: %s", exc)
            return
        if awake is not None and awake != self.awake:
            self.awake = awake
            held, self.held = self.held, None
            if awake and held is not None and self.inbox.empty():
                self.inbox.put_nowait(held)

    async def process(self, msg: ScreenUpdate) -> AsyncGenerator[Message, None]:
        if not self.awake:
            self.held = msg
            return
        started = self.clock()
        levels = await self.worker.call(self.renderer.render, msg.screen)
        rendered = self.clock()
        if self.probe is not None:
            self.probe.arm()
        self.link.show(levels)
        m = self.metrics
        m.observe_ms("display.render", (rendered - started) * 1000)
        # Wait until the device shows it; a lost link resends it once it is back, unless a
        # newer screen comes first (then that one is what matters). Waits with the link down
        # are the link's time, not the display's: counted apart (display.link_wait).
        down: list[tuple[float, float]] = []
        waited_from = rendered
        while not await self.worker.call(self.link.wait_presented, PRESENT_WAIT_S):
            m.count("display.slow_present")
            now = self.clock()
            if self.link.state is not LinkState.CONNECTED:
                down.append((waited_from, now))
                self.waited_s += now - waited_from
            waited_from = now
            if not self.inbox.empty() or self.link.state is LinkState.CLOSED:
                return
        now = self.clock()
        if down and down[-1][1] == waited_from:  # the last wait began with the link down
            down.append((waited_from, now))
            self.waited_s += now - waited_from
        wire_s = self.probe.first_write_s if self.probe is not None else None
        self.presented = msg.screen
        for name, ms in present_observations(
            msg.cause, msg.cause_at_s, rendered, wire_s, now, down
        ).items():
            m.observe_ms(name, ms)
        return
        yield  # an async generator that sends nothing on: its output is the screen
