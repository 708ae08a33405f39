"""``glasses doctor``: is this machine ready?  Fonts, models, devices, CPU and runtime.

:mod:`facts` looks (guarded probes), :mod:`checks` judges (pure functions of the facts),
:mod:`report` prints.  Exit status 1 when any check fails.
"""

from __future__ import annotations

from glasses.doctor.checks import Facts, Found, run_checks
from glasses.doctor.facts import DoctorOptions, gather
from glasses.doctor.report import Check, exit_code, render_table, to_json

__all__ = [
    "Check",
    "DoctorOptions",
    "Facts",
    "Found",
    "exit_code",
    "gather",
    "render_table",
    "run_checks",
    "to_json",
]
