"""Run the checklist against one port: the handshake first (it tells the geometry), then the
selected checks in order, each under its own time limit, into a :class:`Report`."""

from __future__ import annotations

import dataclasses
import time

from firmware_bridge.conformance import display, framing, lifecycle, reliability, session
from firmware_bridge.conformance.context import Check, Context, Options
from firmware_bridge.conformance.peer import CheckFailed, CheckSkipped, RawPeer
from firmware_bridge.conformance.report import CheckResult, Report, Status
from firmware_bridge.conformance.screen import ScreenError
from firmware_bridge.errors import LinkError
from firmware_bridge.transport import Transport

CHECKS: tuple[Check, ...] = (
    session.CHECKS + framing.CHECKS + reliability.CHECKS + display.CHECKS + lifecycle.CHECKS
)
SCREEN_HINT = (
    "needs --screen: a dump of the panel, e.g. the simulator's http://127.0.0.1:PORT/screen.png"
)


def check_names() -> list[str]:
    return [c.name for c in CHECKS]


def run_checks(
    transport: Transport,
    *,
    screen: str | None = None,
    only: tuple[str, ...] = (),
    options: Options | None = None,
) -> Report:
    """Put the device on ``transport`` through the checks named in ``only`` (all if empty).

    The handshake always runs first (it is reported too when it fails). Raises ValueError for
    an unknown check name.
    """
    unknown = sorted(set(only) - set(check_names()))
    if unknown:
        raise ValueError(f"no such check: {', '.join(unknown)} (known: {', '.join(check_names())})")
    ctx = Context(
        RawPeer(transport, (options or Options()).reply_timeout_s), options or Options(), screen
    )
    report = Report(transport.url, screen=screen)
    first = _run(ctx, CHECKS[0])
    if first.status is Status.PASS and ctx.peer.hello_ack is not None:
        ctx.start(ctx.peer.hello_ack)
        report.device = dataclasses.asdict(ctx.peer.hello_ack)
    if not only or CHECKS[0].name in only or first.status is not Status.PASS:
        report.results.append(first)
    for check in CHECKS[1:]:
        if only and check.name not in only:
            continue
        if ctx.device is None:
            report.results.append(_skipped(check, "not run: the handshake failed (§7.3)"))
        elif check.needs_screen and ctx.screen is None:
            report.results.append(_skipped(check, SCREEN_HINT))
        else:
            report.results.append(_run(ctx, check))
    return report


def _skipped(check: Check, why: str) -> CheckResult:
    return CheckResult(
        check.name,
        check.section,
        check.title,
        Status.SKIP,
        seen=why,
        needs_screen=check.needs_screen,
    )


def _run(ctx: Context, check: Check) -> CheckResult:
    peer = ctx.peer
    start = time.monotonic()
    peer.deadline_s = start + ctx.options.check_timeout_s
    peer.transcript.clear()
    peer.auto_ack = True
    status, section, expected, seen = Status.PASS, check.section, "", ""
    try:
        check.run(ctx)
    except CheckFailed as exc:
        status, section, expected, seen = (
            Status.FAIL,
            exc.section or section,
            exc.expected,
            exc.seen,
        )
    except CheckSkipped as exc:
        status, seen = Status.SKIP, str(exc)
    except ScreenError as exc:
        status, expected, seen = Status.FAIL, "a readable screen dump (--screen)", str(exc)
    except LinkError as exc:  # the port went away: this check fails, the next ones will say so
        status, expected, seen = Status.FAIL, "the port stays open", str(exc)
    finally:
        peer.deadline_s = float("inf")
        peer.auto_ack = True
    return CheckResult(
        check.name,
        section,
        check.title,
        status,
        expected,
        seen,
        check.needs_screen,
        time.monotonic() - start,
        tuple(peer.transcript),
    )


__all__ = ["CHECKS", "check_names", "run_checks"]
