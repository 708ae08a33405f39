"""The device conformance checklist of docs/protocol.md §13, automated: a raw protocol peer
puts any display device (real glasses, the simulator, firmware under qemu) through it over
its port. ``glasses conformance --display URL`` is the command; this package needs nothing
of ``glasses`` or ``hw_sim``, so a firmware author can use it alone."""

from firmware_bridge.conformance.context import Check, Options
from firmware_bridge.conformance.report import CheckResult, Report, Status, render_text, to_json
from firmware_bridge.conformance.runner import CHECKS, check_names, run_checks

__all__ = [
    "CHECKS",
    "Check",
    "CheckResult",
    "Options",
    "Report",
    "Status",
    "check_names",
    "render_text",
    "run_checks",
    "to_json",
]
