"""Results of a conformance run and their two renderings: a table for people, JSON for tools.

A check passes, fails (with the spec section and what was expected and seen), or is skipped
(it needs a screen dump that was not given, or an earlier check left no session to test with).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    """What one check found. ``section`` is the spec section that was (not) met."""

    name: str
    section: str
    title: str
    status: Status
    expected: str = ""
    seen: str = ""
    needs_screen: bool = False
    duration_s: float = 0.0
    transcript: tuple[str, ...] = ()
    """The frames exchanged during the check (bounded), shown with ``-v``."""


@dataclass
class Report:
    """Every check's result for one device, plus what the device said it is."""

    url: str
    device: dict[str, Any] = field(default_factory=dict)
    screen: str | None = None
    results: list[CheckResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def ok(self) -> bool:
        return self.count(Status.FAIL) == 0

    @property
    def screen_checks(self) -> list[str]:
        return [r.name for r in self.results if r.needs_screen]


def _device_line(device: dict[str, Any]) -> str:
    if not device:
        return "no HELLO_ACK"
    fw = ".".join(str(v) for v in device["fw_version"])
    return (
        f"{device['board_id'] or '(no board id)'}, firmware {fw}, {device['width_px']}x"
        f"{device['height_px']} at {device['bpp']} bpp, max payload {device['max_payload']}, "
        f"window {device['window']}"
    )


def render_text(report: Report, verbose: bool = False) -> str:
    """One line per check; failures add what was expected and seen."""
    lines = [f"conformance of {report.url} ({_device_line(report.device)}), docs/protocol.md §13"]
    width = max((len(r.name) for r in report.results), default=0)
    for r in report.results:
        tag = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "SKIP"}[r.status]
        screen = " [screen]" if r.needs_screen else ""
        lines.append(f"{tag}  {r.name:<{width}}  §{r.section:<5} {r.title}{screen}")
        if r.status is Status.FAIL:
            lines.append(f"      expected: {r.expected}")
            lines.append(f"      seen:     {r.seen}")
        elif r.status is Status.SKIP:
            lines.append(f"      {r.seen}")
        if verbose and r.transcript:
            lines += [f"      | {t}" for t in r.transcript]
    passed, failed, skipped = (report.count(s) for s in (Status.PASS, Status.FAIL, Status.SKIP))
    lines.append(
        f"{len(report.results)} checks: {passed} passed, {failed} failed, {skipped} skipped"
    )
    needed = report.screen_checks
    if needed:
        via = f"read back through {report.screen}" if report.screen else "need --screen"
        lines.append(f"pixels {via}: {', '.join(needed)}")
    return "\n".join(lines)


def to_json(report: Report, verbose: bool = False) -> str:
    """The report as one JSON object; transcripts only with ``verbose``."""
    checks = []
    for r in report.results:
        item: dict[str, Any] = {
            "name": r.name,
            "section": r.section,
            "title": r.title,
            "status": r.status.value,
            "expected": r.expected,
            "seen": r.seen,
            "needs_screen": r.needs_screen,
            "duration_s": round(r.duration_s, 4),
        }
        if verbose:
            item["transcript"] = list(r.transcript)
        checks.append(item)
    doc = {
        "url": report.url,
        "device": report.device,
        "screen": report.screen,
        "ok": report.ok,
        "passed": report.count(Status.PASS),
        "failed": report.count(Status.FAIL),
        "skipped": report.count(Status.SKIP),
        "checks": checks,
    }
    return json.dumps(doc, indent=2)


__all__ = ["CheckResult", "Report", "Status", "render_text", "to_json"]
