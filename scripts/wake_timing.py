"""How long putting the glasses on again takes (issue #16), for ``scripts/bench_power.py``.

Each time: the wear sensor says off (EVENT WORN 0, through the simulator's API) and the bench
waits for the daemon's ``off_head`` with the panel asleep and the microphone closed; then WORN 1
is posted and timed from just before the post:

* the panel: the simulator's ``last_wake_clock_s`` (when it carried out the WAKE). The panel
  keeps its content while asleep, so the last screen is back with the WAKE; the screen read
  after it is compared with the one read before (``kept``), unless a screen held back while
  asleep was presented after the WAKE (``held_followed``: what DisplayStage.set_panel does);
* listening: the daemon's ``wake_up.first_chunk_at_s`` in its status file (when the listen stage,
  VAD included, had handled the first chunk from the reopened microphone), and on the way
  ``put_on_at_s`` (the power stage handled the WORN) and ``microphone_opened_at_s``.

All these are ``time.monotonic`` (CLOCK_MONOTONIC: one clock for every process of the machine),
so the differences need no polling precision. Goals: the panel within 300 ms, listening
within 500 ms, each time (the maximum decides).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

GOALS_MS: Final = {"panel_awake_ms": 300.0, "listening_ms": 500.0}
OFF_S: Final = 1.0  # off long enough for the microphone's stream to end
POLL_S: Final = 0.01
WAIT_S: Final = 15.0


class Simulator(Protocol):
    def state(self) -> dict[str, Any]: ...

    def screen(self) -> npt.NDArray[np.uint8]: ...


class Glasses(Protocol):
    """What the bench's Day offers: the simulator, the daemon's status file, wear events."""

    @property
    def sim(self) -> Simulator: ...

    def status(self) -> dict[str, Any]: ...

    def event(self, body: dict[str, Any]) -> None: ...


def wait_for(check: Callable[[], Any], what: str) -> Any:
    """``check()``'s first true result, polled every POLL_S; RuntimeError after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not (found := check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"put on: no {what} within {WAIT_S:.0f} s")
        time.sleep(POLL_S)
    return found


def take_off(glasses: Glasses) -> None:
    glasses.event({"kind": "worn", "worn": False})
    wait_for(
        lambda: (
            (glasses.status().get("power") or {}).get("listening") is False
            and glasses.sim.state()["sleeping"]
        ),
        "off_head state with the panel asleep",
    )
    time.sleep(OFF_S)


def put_on_once(glasses: Glasses) -> dict[str, Any]:
    take_off(glasses)
    before = glasses.sim.screen()
    posted = time.monotonic()
    glasses.event({"kind": "worn", "worn": True})

    def awake() -> dict[str, Any] | None:
        state = glasses.sim.state()
        woke = state.get("last_wake_clock_s")
        return state if not state["sleeping"] and woke is not None and woke > posted else None

    state = wait_for(awake, "WAKE on the simulated panel")
    kept = bool(np.array_equal(before, glasses.sim.screen()))
    presented = state.get("last_present_clock_s") or 0.0
    held = presented > state["last_wake_clock_s"]

    def heard() -> dict[str, float] | None:
        times = glasses.status().get("wake_up") or {}
        first = times.get("first_chunk_at_s")
        return times if first is not None and first > posted else None

    times = wait_for(heard, "first chunk handled after the microphone reopened")

    def ms(start: float, end: float) -> float:
        return round(1000 * (end - start), 1)

    return {
        "panel_awake_ms": ms(posted, state["last_wake_clock_s"]),
        "listening_ms": ms(posted, times["first_chunk_at_s"]),
        "post_to_power_stage_ms": ms(posted, times["put_on_at_s"]),
        "power_stage_to_microphone_open_ms": ms(
            times["put_on_at_s"], times["microphone_opened_at_s"]
        ),
        "microphone_open_to_first_chunk_ms": ms(
            times["microphone_opened_at_s"], times["first_chunk_at_s"]
        ),
        "screen": "kept" if kept else "held_followed" if held else "changed",
    }


def put_on(glasses: Glasses, repeats: int) -> dict[str, Any]:
    """``repeats`` put-ons, each after taking them off; median and max of each interval."""
    runs = [put_on_once(glasses) for _ in range(repeats)]
    keys = [k for k in runs[0] if k.endswith("_ms")]
    summary = {
        k: {
            "median": round(statistics.median(r[k] for r in runs), 1),
            "max": max(r[k] for r in runs),
        }
        for k in keys
    }
    goals = {
        k: {"ok": summary[k]["max"] <= limit, "limit_ms": limit} for k, limit in GOALS_MS.items()
    }
    screens = [r["screen"] for r in runs]
    goals["panel_awake_ms"]["ok"] &= "changed" not in screens  # the last screen, back
    return {
        "repeats": repeats,
        "summary_ms": summary,
        "screens": {s: screens.count(s) for s in sorted(set(screens))},
        "goals": goals,
        "runs": runs,
    }
