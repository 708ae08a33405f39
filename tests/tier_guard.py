"""Test tiers, and the guard that keeps them true (loaded by conftest.py).

The tiers are the markers in pyproject.toml whose description starts with ``tier:``. Every test
has exactly one: the closest tier marker wins (the test's own, then its class's, then its
module's ``pytestmark``), so a module can be ``fast`` and mark its one test that starts a
process ``@pytest.mark.process``. A test with no tier stops the run at collection, naming its
module, so that new tests get classified. A ``fast`` test that starts a process or listens on a
socket fails, naming the tier it belongs in: ``-m fast`` stays quick and self-contained.
"""

from __future__ import annotations

import _posixsubprocess
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

# What starts a process: subprocess (run, Popen, asyncio), os.fork/forkpty (pty.fork, os.spawn*),
# posix_spawn, os.system and multiprocessing's spawn (_posixsubprocess.fork_exec).
_SPAWNERS: tuple[tuple[Any, str], ...] = (
    (subprocess.Popen, "_execute_child"),
    (_posixsubprocess, "fork_exec"),
    (os, "fork"),
    (os, "forkpty"),
    (os, "posix_spawn"),
    (os, "posix_spawnp"),
    (os, "system"),
)
# A shared-library lookup (ctypes.util.find_library runs ldconfig, e.g. while sounddevice is
# imported) happens once per interpreter, in whichever test imports first: not the test's doing.
_ALLOWED_CALLERS = (os.path.join("ctypes", "util.py"),)


def tiers(config: pytest.Config) -> list[str]:
    """The tier names registered in pyproject.toml (``markers = ["fast: tier: ...", ...]``)."""
    names = []
    for line in config.getini("markers"):
        name, _, description = str(line).partition(":")
        if description.strip().startswith("tier:"):
            names.append(name.strip())
    return names


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects: an unclassified test must not vanish
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    known = set(tiers(config))
    chosen: dict[str, str] = {}
    problems: dict[str, str] = {}
    for item in items:
        closest: list[str] = []
        for node in reversed(item.listchain()):  # the test first, then its class, its module
            closest = [mark.name for mark in node.own_markers if mark.name in known]
            if closest:
                break
        where = item.nodeid.split("::")[0]
        if len(set(closest)) == 1:
            chosen[item.nodeid] = closest[0]
        elif not closest:
            problems.setdefault(where, f"{where}: no tier marker on {item.nodeid}")
        else:
            problems.setdefault(where, f"{item.nodeid}: more than one tier ({', '.join(closest)})")
    if problems:
        raise pytest.UsageError(
            "every test needs exactly one tier marker, one of "
            f"{', '.join(sorted(known))} (see the markers in pyproject.toml); add e.g. "
            "`pytestmark = pytest.mark.fast` near the top of the module, or mark the test:\n  "
            + "\n  ".join(problems.values())
        )
    # ``-m`` reads every marker up the chain: keep the chosen tier on each test, none above it.
    for item in items:
        for node in item.listchain():
            node.own_markers[:] = [mark for mark in node.own_markers if mark.name not in known]
    for item in items:
        item.add_marker(chosen[item.nodeid])


def _tier_error(item: pytest.Item, what: str, tier: str) -> str:
    return (
        f"{item.nodeid} is marked `fast` but {what}: mark it `{tier}` "
        f"(`@pytest.mark.{tier}` on the test, or `pytestmark = pytest.mark.{tier}` in the "
        "module); the tiers are listed in pyproject.toml"
    )


def _called_from_allowed() -> bool:
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.endswith(_ALLOWED_CALLERS):
            return True
        frame = frame.f_back
    return False


@contextmanager
def _fast_only(item: pytest.Item) -> Iterator[None]:
    """While a ``fast`` test runs (setup, call, teardown), starting a process or listening on a
    socket fails it. Also failed afterwards: product code may swallow the error, or a thread."""
    if item.get_closest_marker("fast") is None:
        yield
        return
    seen: list[str] = []

    def refuse(what: str, tier: str) -> None:
        seen.append(_tier_error(item, what, tier))
        pytest.fail(seen[-1], pytrace=False)

    def spawn_guard(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if _called_from_allowed():
                return original(*args, **kwargs)
            argv = args[1] if name == "_execute_child" else args[:1]
            refuse(f"started a process ({name}: {str(argv)[:120]})", "process")
            return None  # not reached: pytest.fail raises

        return guarded

    def listen(sock: socket.socket, *args: Any) -> None:
        refuse(f"listened on a socket ({sock.family.name})", "network")

    # socket.socket inherits listen from _socket.socket: it gets an attribute of its own here,
    # removed again afterwards (hence vars(), not getattr()).
    saved = [
        (owner, name, vars(owner).get(name)) for owner, name in _SPAWNERS if hasattr(owner, name)
    ]
    saved.append((socket.socket, "listen", vars(socket.socket).get("listen")))
    for owner, name, _ in saved[:-1]:
        setattr(owner, name, spawn_guard(getattr(owner, name), name))
    setattr(socket.socket, "listen", listen)  # noqa: B010 (a method of a class made in C)
    try:
        yield
    finally:
        for owner, name, original in saved:
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
    if seen:
        pytest.fail(seen[0], pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with _fast_only(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with _fast_only(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with _fast_only(item):
        return (yield)
