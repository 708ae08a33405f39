"""Lazy imports of the daemon's optional dependencies: the guard of :mod:`firmware_bridge.extras`.

The guard lives in ``firmware_bridge`` so that the link, the flasher and the simulator need
nothing of the daemon; the daemon's modules import it from here, under the same names.
"""

from __future__ import annotations

from firmware_bridge.extras import (
    BROKEN_MARK,
    DISTRIBUTION,
    FIX_MARK,
    NUMPY_MISMATCH,
    SYSTEM_LIBRARY_FIXES,
    BrokenExtraError,
    ExtraImportError,
    MissingExtraError,
    import_fix,
    install_fix,
    is_not_installed,
    pip_install,
    require,
)

__all__ = [
    "BROKEN_MARK",
    "DISTRIBUTION",
    "FIX_MARK",
    "NUMPY_MISMATCH",
    "SYSTEM_LIBRARY_FIXES",
    "BrokenExtraError",
    "ExtraImportError",
    "MissingExtraError",
    "import_fix",
    "install_fix",
    "is_not_installed",
    "pip_install",
    "require",
]
