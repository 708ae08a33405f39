"""Power states of the rig and the glasses: the pure :class:`PowerPolicy` (events and time in,
actions out) and the readers of the computer's own temperature and throttling.

The daemon's :class:`~glasses.runtime.power_stage.PowerStage` owns the policy and carries out
its actions (display SLEEP/WAKE/brightness, listening paused or not, saving, shutdown).
"""

from glasses.power.events import (
    Action,
    Activity,
    BatteryLevel,
    BoardHeat,
    GlassesHeat,
    PowerEvent,
    SetBrightness,
    SetDisplay,
    SetListening,
    SetSaving,
    Shutdown,
    Tell,
    WornChange,
)
from glasses.power.policy import PowerPolicy, PowerState

__all__ = [
    "Action",
    "Activity",
    "BatteryLevel",
    "BoardHeat",
    "GlassesHeat",
    "PowerEvent",
    "PowerPolicy",
    "PowerState",
    "SetBrightness",
    "SetDisplay",
    "SetListening",
    "SetSaving",
    "Shutdown",
    "Tell",
    "WornChange",
]
