"""The power policy as pure logic: events and the time are data, actions are what comes out."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from glasses.power import (
    Activity,
    BatteryLevel,
    BoardHeat,
    GlassesHeat,
    PowerPolicy,
    PowerState,
    SetBrightness,
    SetDisplay,
    SetListening,
    SetSaving,
    Shutdown,
    Tell,
    WornChange,
)
from glasses.power.policy import SHUTDOWN_WARNING_S
from glasses.settings import PowerSettings

pytestmark = pytest.mark.fast

SETTINGS = PowerSettings(dim_after_s=30.0, sleep_after_s=120.0, brightness=200, dim_brightness=40)


def policy(**changes: Any) -> PowerPolicy:
    """A policy that has had its first tick (the daemon ticks it once at start)."""
    p = PowerPolicy(dataclasses.replace(SETTINGS, **changes), now_s=0.0)
    level = p.settings.brightness
    assert p.tick(0.0) == ([] if level == 255 else [SetBrightness(level)])  # a device boots at 255
    return p


def state(p: PowerPolicy) -> PowerState:
    return p.state  # read through a call: mypy would narrow the attribute after one check


def test_taking_them_off_sleeps_the_display_and_stops_listening_at_once() -> None:
    p = policy()
    assert p.on_event(WornChange(False), 5.0) == [SetDisplay(False), SetListening(False)]
    assert state(p) is PowerState.OFF_HEAD and p.why == "taken off"
    assert p.next_due_s() is None  # nothing to wake up for until they are put on
    assert p.tick(10_000.0) == []
    # Buttons and speech near glasses on a table do not wake them; the wear sensor does.
    assert p.on_event(Activity("button"), 20.0) == []
    assert p.on_event(Activity("speech", speaking=True), 21.0) == []
    assert p.on_event(WornChange(True), 30.0) == [SetDisplay(True), SetListening(True)]
    assert state(p) is PowerState.WORN and p.why == "put on"
    assert p.next_due_s() == 60.0  # putting them on counts as something happening


def test_quiet_dims_then_sleeps_and_any_activity_wakes_it() -> None:
    p = policy(brightness=255)
    assert p.next_due_s() == 30.0
    assert p.tick(29.9) == []
    assert p.tick(30.0) == [SetBrightness(40)]
    assert state(p) is PowerState.DIM and p.why == "nothing happened for 30 s"
    assert p.next_due_s() == 120.0
    assert p.tick(120.0) == [SetDisplay(False)]  # listening goes on: speech must wake it
    assert state(p) is PowerState.IDLE and p.next_due_s() is None
    assert p.on_event(Activity("swipe"), 500.0) == [SetBrightness(255), SetDisplay(True)]
    assert state(p) is PowerState.WORN and p.why == "a swipe"
    assert p.next_due_s() == 530.0


def test_speech_keeps_it_awake_while_it_lasts_and_quiet_counts_from_its_end() -> None:
    p = policy(brightness=255)
    assert p.on_event(Activity("speech", speaking=True), 10.0) == []
    assert p.next_due_s() is None
    assert p.tick(1_000.0) == []  # a long talk never dims the captions
    assert p.on_event(Activity("speech", speaking=False), 1_000.0) == []
    assert p.next_due_s() == 1_030.0
    assert p.tick(1_030.0) == [SetBrightness(40)]


def test_zero_means_never() -> None:
    p = policy(dim_after_s=0.0, sleep_after_s=0.0)
    assert p.next_due_s() is None
    assert [a for a in p.tick(1e6) if isinstance(a, SetDisplay)] == []
    only_sleep = policy(dim_after_s=0.0)
    assert only_sleep.next_due_s() == 120.0
    assert only_sleep.tick(120.0) == [SetDisplay(False)]


def test_a_low_battery_saves_power_until_well_above_the_threshold() -> None:
    p = policy(low_battery_percent=20)
    assert p.on_event(BatteryLevel(50, False), 1.0) == []
    assert p.on_event(BatteryLevel(19, False), 2.0) == [SetSaving(("battery",)), Tell(("SAVING",))]
    assert p.on_event(BatteryLevel(22, False), 3.0) == []  # not flapping around the threshold
    assert p.on_event(BatteryLevel(25, False), 4.0) == [SetSaving(()), Tell(())]
    assert p.on_event(BatteryLevel(10, True), 5.0) == []  # charging: no need to save
    assert p.status(5.0)["battery"] == {"percent": 10, "charging": True}


def test_heat_and_throttling_save_power_with_a_margin() -> None:
    p = policy(board_hot_c=75.0, glasses_hot_c=45.0)
    assert p.on_event(BoardHeat(74.9), 1.0) == []
    assert p.on_event(BoardHeat(75.0), 2.0) == [SetSaving(("computer",)), Tell(("SAVING",))]
    assert p.on_event(BoardHeat(70.1), 3.0) == []
    assert p.on_event(BoardHeat(69.9, ("under-voltage",)), 4.0) == [
        SetSaving(("computer under-voltage",))
    ]
    assert p.on_event(GlassesHeat(46.0), 5.0) == [SetSaving(("glasses", "computer under-voltage"))]
    assert p.on_event(BoardHeat(50.0), 6.0) == [SetSaving(("glasses",))]
    assert p.on_event(GlassesHeat(39.0), 7.0) == [SetSaving(()), Tell(())]
    status = p.status(7.0)
    assert status["computer_c"] == 50.0 and status["glasses_c"] == 39.0 and not status["saving"]


def test_a_listed_jetson_power_mode_saves_power_by_id_or_name() -> None:
    p = policy(saving_power_modes=("1",))
    assert p.on_event(BoardHeat(50.0, power_mode="0", power_mode_name="15W"), 1.0) == []
    assert p.status(1.0)["power_mode"] == "0" and p.status(1.0)["power_mode_name"] == "15W"
    assert p.on_event(BoardHeat(50.0, power_mode="1", power_mode_name="7W"), 2.0) == [
        SetSaving(("nvpmodel mode 1 (7W)",)),
        Tell(("SAVING",)),
    ]
    assert p.status(2.0)["saving"] == ["nvpmodel mode 1 (7W)"]
    assert p.on_event(BoardHeat(50.0, power_mode="1"), 3.0) == [
        SetSaving(("nvpmodel mode 1",))  # the same mode, no conf to name it
    ]
    assert p.on_event(BoardHeat(50.0, power_mode="0"), 4.0) == [SetSaving(()), Tell(())]
    named = policy(saving_power_modes=("7w", "25W"))
    assert named.on_event(BoardHeat(None, power_mode="1"), 1.0) == []  # no name to match
    assert named.on_event(BoardHeat(None, power_mode="2", power_mode_name="7W"), 2.0) == [
        SetSaving(("nvpmodel mode 2 (7W)",)),
        Tell(("SAVING",)),
    ]
    # Not a Jetson (no mode read), or nothing listed: never a reason.
    assert named.on_event(BoardHeat(None), 3.0) == [SetSaving(()), Tell(())]
    unlisted = policy()
    assert unlisted.on_event(BoardHeat(None, power_mode="1", power_mode_name="7W"), 1.0) == []


def test_a_critical_battery_warns_then_shuts_down_once() -> None:
    p = policy(critical_battery_percent=5)
    p.tick(200.0)  # asleep after a quiet spell: the warning must still be seen
    assert p.awake is False
    actions = p.on_event(BatteryLevel(4, False), 300.0)
    assert actions == [
        SetSaving(("battery",)),
        SetDisplay(True),
        SetListening(False),
        Tell(("BATTERY", "SAVING"), "battery 4 %: shutting down, charge the glasses"),
    ]
    assert state(p) is PowerState.SHUTTING_DOWN and p.why == "battery 4 %"
    assert p.next_due_s() == 300.0 + SHUTDOWN_WARNING_S
    assert p.tick(304.0) == []
    assert p.tick(305.0) == [Shutdown("the glasses' battery is critical (battery 4 %)")]
    assert p.tick(400.0) == [] and p.next_due_s() is None


def test_charging_during_the_warning_calls_the_shutdown_off() -> None:
    p = policy(critical_battery_percent=5)
    p.on_event(BatteryLevel(3, False), 10.0)
    actions = p.on_event(BatteryLevel(3, True), 12.0)
    assert SetListening(True) in actions and Tell(()) in actions
    assert state(p) is PowerState.WORN and p.why == "charging"
    assert p.tick(100.0) == [SetBrightness(40)]  # quiet since the plug: dims, no shutdown


def test_critical_zero_never_shuts_down() -> None:
    p = policy(critical_battery_percent=0, low_battery_percent=0)
    assert p.on_event(BatteryLevel(0, False), 1.0) == []


def test_status_says_the_state_and_why() -> None:
    p = policy()
    p.on_event(WornChange(False), 12.0)
    status = p.status(20.0)
    assert status["state"] == "off_head" and status["why"] == "taken off"
    assert status["for_s"] == 8.0 and status["display"] == "asleep"
    assert status["listening"] is False
