"""The tier guard (tier_guard.py) on small test modules run by pytest itself, in-process."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

pytestmark = pytest.mark.fast

INI = """[pytest]
markers =
    fast: tier: pure
    process: tier: starts processes
    network: tier: serves on a socket
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # hypothesis & co: not needed
    pytester.makeini(INI)
    pytester.makeconftest('pytest_plugins = ["tier_guard"]')
    return pytester


def test_a_module_without_a_tier_stops_the_run(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_tiered="import pytest\npytestmark = pytest.mark.fast\ndef test_a(): pass\n",
        test_untiered="def test_b(): pass\n",
    )
    result = inner.runpytest("-m", "fast")  # the untiered test must not just go unselected
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no tier marker on test_untiered.py::test_b*"])


def test_two_tiers_on_one_test_stop_the_run(inner: pytest.Pytester) -> None:
    inner.makepyfile("import pytest\n@pytest.mark.fast\n@pytest.mark.process\ndef test_a(): pass\n")
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_a: more than one tier*"])


def test_the_closest_tier_wins_and_each_test_has_one(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest
        pytestmark = pytest.mark.fast
        def test_pure(): pass
        @pytest.mark.network
        def test_serves(): pass
        """
    )
    inner.runpytest("-m", "fast").assert_outcomes(passed=1, deselected=1)
    inner.runpytest("-m", "network").assert_outcomes(passed=1, deselected=1)
    inner.runpytest("-m", "fast and network").assert_outcomes(deselected=2)


def test_a_fast_test_that_starts_a_process_fails_even_if_the_error_is_swallowed(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import subprocess
        import pytest
        pytestmark = pytest.mark.fast
        def test_runs_true():
            try:
                subprocess.run(["true"], check=True)
            except Exception:
                pass  # code under test that hides the error must not hide the tier
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*is marked `fast` but started a process*mark it `process`*"])


def test_a_fast_test_that_listens_on_a_socket_fails(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import socket
        import pytest
        pytestmark = pytest.mark.fast
        def test_serves():
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                sock.listen()
        """
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*listened on a socket (AF_INET): mark it `network`*"])


def test_a_shared_library_lookup_is_not_the_test_starting_a_process(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import ctypes.util
        import pytest
        pytestmark = pytest.mark.fast
        def test_finds_libc():
            ctypes.util.find_library("c")  # runs ldconfig: what importing sounddevice does
        """
    )
    inner.runpytest().assert_outcomes(passed=1)


@pytest.mark.process
def test_a_process_test_may_start_one_and_the_guard_is_gone_afterwards(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import socket, subprocess
        import pytest
        def test_a_fast_one_first():
            pass
        pytestmark = pytest.mark.fast
        @pytest.mark.process
        def test_runs_true():
            subprocess.run(["true"], check=True)
        """
    )
    inner.runpytest().assert_outcomes(passed=2)
    # The fast test's patches were undone: nothing of tier_guard is left behind.
    assert "listen" not in vars(socket.socket)
    assert subprocess.Popen._execute_child.__module__ == "subprocess"
    assert os.fork.__module__ == "posix"
