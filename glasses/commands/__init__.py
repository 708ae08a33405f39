"""Subcommands of the ``glasses`` CLI, one module each."""
