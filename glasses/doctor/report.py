"""Results of ``glasses doctor``: one :class:`Check` per concern, shown as a table or JSON."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["OK", "WARN", "FAIL"]


@dataclass(frozen=True)
class Check:
    name: str  # short concern name: "font", "llm model", "serial port"
    status: Status  # FAIL: a core feature cannot work; WARN: degraded or not configured
    detail: str  # what was found, or what is missing
    fix: str = ""  # how to get it: an apt package, a pip extra, a glasses command


def ok(name: str, detail: str) -> Check:
    return Check(name, "OK", detail)


# How an error message ends with its own fix: "... (run: CMD)", "...; fix: CMD".
_OWN_FIX = re.compile(r"\s*\((?:run|fix): ([^()]+)\)|;\s*fix: (.+)$")


def without_fix(detail: str, fix: str) -> str:
    """``detail`` without the fix it ends with, when the check's ``fix`` line says it anyway."""
    if not fix:
        return detail

    def drop(match: re.Match[str]) -> str:
        said = (match.group(1) or match.group(2)).strip()
        return "" if said in fix else match.group(0)

    return _OWN_FIX.sub(drop, detail).rstrip()


def warn(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "WARN", without_fix(detail, fix), fix)


def fail(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "FAIL", without_fix(detail, fix), fix)


def exit_code(checks: Sequence[Check]) -> int:
    """1 when anything failed (scripts and CI can gate on it), else 0."""
    return 1 if any(c.status == "FAIL" for c in checks) else 0


def to_json(checks: Sequence[Check]) -> str:
    report = {
        "ok": exit_code(checks) == 0,
        "counts": {s: sum(c.status == s for c in checks) for s in ("OK", "WARN", "FAIL")},
        "checks": [asdict(c) for c in checks],
    }
    return json.dumps(report, ensure_ascii=False, indent=2)


def render_table(checks: Sequence[Check], width: int = 100) -> str:
    """``STATUS  CHECK  DETAIL`` rows; a fix goes on its own indented line under its row."""
    name_w = max([len(c.name) for c in checks] + [5])
    indent = " " * (7 + name_w + 2)
    lines = [f"{'STATUS':<7}{'CHECK':<{name_w + 2}}DETAIL"]
    for c in checks:
        body = textwrap.wrap(c.detail, max(width - len(indent), 30)) or [""]
        lines.append(f"{c.status:<7}{c.name:<{name_w + 2}}{body[0]}")
        lines += [indent + more for more in body[1:]]
        if c.fix:
            fix = textwrap.wrap(f"fix: {c.fix}", max(width - len(indent), 30))
            lines += [indent + part for part in fix]
    counts = {s: sum(c.status == s for c in checks) for s in ("OK", "WARN", "FAIL")}
    lines.append(f"{counts['OK']} ok, {counts['WARN']} warnings, {counts['FAIL']} failed")
    return "\n".join(lines)
