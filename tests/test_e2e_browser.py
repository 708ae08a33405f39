"""The simulator's live page in a real headless browser (Playwright + Debian chromium).

- The page shows what the simulated glasses show: after the host presents a screen, the
  page's <img> reloads to that frame, and the picture the browser decoded (read back through a
  canvas) equals the simulated panel pixel for pixel.
- A click on one of the page's buttons reaches the host as an EVENT on its DisplayLink.

Skipped, with the reason, when the playwright package or a chromium binary is missing.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from firmware_bridge.compositor import Compositor
from firmware_bridge.config import LinkConfig
from firmware_bridge.link import DisplayLink
from firmware_bridge.protocol import messages as m
from firmware_bridge.protocol.geometry import DisplayGeometry
from glasses.display.raster import Renderer
from glasses.display.views import CaptionView, LinkState, Screen, StatusBar
from hw_sim.launcher import SimulatorProcess

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need the playwright python package"
)

pytestmark = pytest.mark.browser

WAIT_S = 20.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# The <img id="screen"> shows frame ``f``: its src names the frame, it is decoded, and the
# page's state table agrees.
_SHOWS_FRAME = """([frameId]) => {
  const img = document.getElementById("screen");
  if (!img.complete || img.naturalWidth === 0 || !img.src) return false;
  const shown = new URL(img.src).searchParams.get("f");
  return shown === String(frameId)
    && document.getElementById("frame-id").textContent === String(frameId);
}"""
# The picture the page decoded for the <img>, as base64 of its red channel (it is grey).
_IMG_PIXELS = """(img) => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const red = new Array(rgba.length / 4);
  for (let i = 0; i < red.length; i++) red[i] = String.fromCharCode(rgba[4 * i]);
  return btoa(red.join(""));
}"""


def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.access(path, os.X_OK) else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium binary (apt install chromium, or set CHROMIUM=/path)")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except sync_api.Error as exc:
            pytest.skip(f"chromium at {executable} does not start under playwright: {exc}")
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_S * 1000)
    yield page
    context.close()


@pytest.fixture
def sim(sim_process: Callable[..., SimulatorProcess]) -> SimulatorProcess:
    return sim_process("--profile", "640x400x4", "-q")


@pytest.fixture
def link(sim: SimulatorProcess) -> Iterator[DisplayLink]:
    with DisplayLink(LinkConfig(url=sim.url), Compositor.for_device) as link:
        link.wait_connected(WAIT_S)
        yield link


def present(link: DisplayLink, sim: SimulatorProcess, levels: npt.NDArray[np.uint8]) -> int:
    """Show ``levels`` and return the frame id the simulator then publishes."""
    before = sim.state()["presents"]
    link.show(levels)
    assert link.wait_presented(WAIT_S), link.stats
    state = sim.wait_state(lambda s: s["presents"] > before, WAIT_S, "the new frame")
    frame_id = state["frame_id"]
    assert isinstance(frame_id, int)
    return frame_id


def page_picture(page: Any, frame_id: int) -> npt.NDArray[np.uint8]:
    """Wait for the page to show ``frame_id``; the grey picture its <img> holds."""
    page.wait_for_function(_SHOWS_FRAME, arg=[frame_id])
    img = page.locator("#screen")
    width, height = img.evaluate("(i) => [i.naturalWidth, i.naturalHeight]")
    red = base64.b64decode(img.evaluate(_IMG_PIXELS))
    return np.frombuffer(red, dtype=np.uint8).reshape(height, width)


def test_page_shows_what_the_glasses_show(
    page: Any, sim: SimulatorProcess, link: DisplayLink
) -> None:
    assert sim.web is not None
    geometry = DisplayGeometry(sim.info["width"], sim.info["height"], sim.info["bpp"])
    renderer = Renderer(geometry)
    status = StatusBar(link=LinkState.CONNECTED, battery_percent=77)
    first = renderer.render(Screen(CaptionView(("下一站 West Lake 西湖",)), status))
    first_id = present(link, sim, first)

    page.goto(sim.web + "/")
    # The page is live once its script has filled in the device (inner_text would not wait
    # for that: the element is there, empty, before the first status arrives).
    page.wait_for_function(
        "() => document.getElementById('profile').textContent.trim() !== ''",
        timeout=WAIT_S * 1000,
    )
    shown = page_picture(page, first_id)
    assert shown.shape == (geometry.height_px, geometry.width_px)
    assert np.array_equal(shown, sim.screen())
    assert np.array_equal(shown, first * 17)  # 4 bpp: level * 255 // 15

    # A new screen from the host: the open page reloads its picture by itself.
    second = renderer.render(Screen(CaptionView(("Please exit by the front door.",)), status))
    second_id = present(link, sim, second)
    assert second_id != first_id
    shown = page_picture(page, second_id)
    assert np.array_equal(shown, second * 17) and not np.array_equal(shown, first * 17)
    page.wait_for_function(
        "() => document.getElementById('session').textContent.startsWith('yes')",
        timeout=WAIT_S * 1000,
    )


def wait_event(link: DisplayLink, kind: m.EventKind) -> m.Event:
    """The next EVENT of ``kind`` from the device (others, such as BOOT, are skipped)."""
    deadline = time.monotonic() + WAIT_S
    while (left := deadline - time.monotonic()) > 0:
        event = link.get_event(timeout_s=left)
        message = None if event is None else event.message
        if isinstance(message, m.Event) and message.kind == kind:
            return message
    raise AssertionError(f"no {kind.name} event within {WAIT_S:g} s")


def test_page_buttons_reach_the_host_as_events(
    page: Any, sim: SimulatorProcess, link: DisplayLink
) -> None:
    assert sim.web is not None
    page.goto(sim.web + "/")
    page.wait_for_function("() => document.getElementById('session').textContent !== ''")

    page.click("#btn-press")
    press = wait_event(link, m.EventKind.BUTTON)
    assert (press.code, press.value) == (0, m.ButtonAction.PRESS)
    page.wait_for_function("() => document.getElementById('status').textContent.endsWith('ok')")

    page.click("#btn-swipe-forward")
    swipe = wait_event(link, m.EventKind.SWIPE)
    assert swipe.code == m.SwipeDirection.FORWARD

    page.click("#btn-long-press")
    long_press = wait_event(link, m.EventKind.BUTTON)
    assert long_press.value == m.ButtonAction.LONG_PRESS


# Laid out: the profile and the first picture are in, and the zoom is chosen.
_LAID_OUT = """() => {
  const img = document.getElementById("screen");
  return document.getElementById("profile").textContent.trim() !== ""
    && img.complete && img.naturalWidth > 0 && img.style.getPropertyValue("--zoom") !== "";
}"""
# Every control and the screen: [what, left, top, right, bottom].
_BOXES = """() => Array.from(document.querySelectorAll("#screen, button, input, select"), (e) => {
  const r = e.getBoundingClientRect();
  return [e.id || e.tagName, r.left, r.top, r.right, r.bottom];
})"""


def test_page_fits_a_1000x800_window_at_its_default_zoom(
    browser: Any, sim: SimulatorProcess, tmp_path: Path
) -> None:
    assert sim.web is not None
    width, height = 1000, 800
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_S * 1000)
        page.goto(sim.web + "/")
        page.wait_for_function(_LAID_OUT)
        page.screenshot(path=str(tmp_path / "page-1000x800.png"))  # to look at when it fails
        boxes = page.evaluate(_BOXES)
        assert len(boxes) > 10, boxes
        outside = [b for b in boxes if b[1] < 0 or b[2] < 0 or b[3] > width or b[4] > height]
        assert not outside, f"cut off in a {width}x{height} window: {outside}"
        screen = next(b for b in boxes if b[0] == "screen")
        assert screen[3] - screen[1] >= sim.info["width"], "the screen is shown smaller than 1:1"
        scroll = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        assert scroll[0] <= width and scroll[1] <= height, scroll
    finally:
        context.close()
