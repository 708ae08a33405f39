"""A stretched keepalive (the daemon's, while the panel sleeps): fewer PINGs, loss noticed
after three missed ones, and back to the configured interval at once. Time as data."""

from __future__ import annotations

import pytest
from test_link_session import connected, state

from firmware_bridge.protocol import messages as m
from firmware_bridge.stats import LinkState

pytestmark = pytest.mark.fast


def pings(rig: object) -> int:
    return sum(isinstance(x, m.Ping) for x in rig.dev.received)  # type: ignore[attr-defined]


def test_a_stretched_keepalive_pings_less_and_still_notices_a_lost_link() -> None:
    rig = connected()
    rig.run(10.0)
    normal = pings(rig)
    assert 8 <= normal <= 11  # one per second of silence
    rig.s.set_keepalive(2.5)
    rig.run(10.0)
    assert 3 <= pings(rig) - normal <= 5  # one per 2.5 s
    rig.dev.mute = True
    rig.run(4.9)  # the last PONG came at most 2.5 s before: 7.5 s of silence not yet over
    assert state(rig) is LinkState.CONNECTED  # (with the 1 s keepalive: lost after 3 s)
    rig.run(2.7)
    assert state(rig) is LinkState.LOST


def test_the_configured_keepalive_comes_back() -> None:
    rig = connected()
    rig.s.set_keepalive(2.5)
    rig.run(5.0)
    rig.s.set_keepalive(None)
    assert rig.s.keepalive_s == 1.0 and rig.s.link_timeout_s == 3.0
    before = pings(rig)
    rig.run(5.0)
    assert 4 <= pings(rig) - before <= 6
    with pytest.raises(ValueError, match="keepalive_s must be positive"):
        rig.s.set_keepalive(0.0)
