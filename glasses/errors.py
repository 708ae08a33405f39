"""Errors shared across the daemon and its CLI."""

from __future__ import annotations


class GlassesError(Exception):
    """A user-facing failure with a message that says what was wrong and what to do.

    The CLI prints it as ``glasses: error: <message>`` and exits with status 2.
    """
