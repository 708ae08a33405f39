"""Lazy imports of optional dependencies, with errors that say what is wrong and what fixes it.

An optional import fails in two ways, told apart because their fixes differ:

* the module is not installed (:class:`MissingExtraError`): the pip command that installs the
  extra into this interpreter, from wherever glasses itself came from (:func:`pip_install`);
* it is installed but importing it fails (:class:`BrokenExtraError`): a system library it loads
  is missing (``libGL.so.1: cannot open shared object file``), it was built for another NumPy,
  or a module it imports is gone.  "Not installed" would send the user to a pip command that
  changes nothing, so the message carries the original error and, where known, the fix.

Both are :class:`ExtraImportError`, an :class:`ImportError`: code that catches ``ImportError``
to run without an extra still does.  The link, the flasher and the simulator use this module
directly; the daemon through :mod:`glasses.extras`.  All ship in one distribution, whose extras
the hints name.
"""

from __future__ import annotations

import importlib
import json
import shlex
import sys
from types import ModuleType
from typing import Final
from urllib.parse import unquote, urlparse

# The distribution's name on PyPI ("glasses" there is an unrelated package); the import
# packages and the `glasses` command keep their names.
DISTRIBUTION: Final = "glasses-runtime"


class ExtraImportError(ImportError):
    """An optional dependency cannot be imported; the message says why and what fixes it."""


class MissingExtraError(ExtraImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


class BrokenExtraError(ExtraImportError):
    """An optional dependency is installed but its import fails; the message has the cause."""


BROKEN_MARK = "is installed but cannot be imported"
FIX_MARK = "; fix: "

# Words of an import error (compared lower-cased) and the fix.  The OpenCV wheel (cv2, which
# rapidocr-onnxruntime imports) loads libGL and GLib; sounddevice and soundfile load PortAudio
# and libsndfile.
SYSTEM_LIBRARY_FIXES: tuple[tuple[str, str], ...] = (
    ("libgl.so", "sudo apt install libgl1"),
    ("libglx", "sudo apt install libgl1"),
    ("libgldispatch", "sudo apt install libgl1"),
    ("libgthread", "sudo apt install libglib2.0-0"),
    ("libglib", "sudo apt install libglib2.0-0"),
    ("portaudio", "sudo apt install libportaudio2"),
    ("libsndfile", "sudo apt install libsndfile1"),
)
# What a compiled module built against another NumPy major version fails with.
NUMPY_MISMATCH = (
    "compiled using numpy 1.x",
    "numpy.core.multiarray failed to import",
    "numpy.core._multiarray_umath failed to import",
    "_array_api not found",
    "compiled against abi version",
    "numpy.dtype size changed",
)


def pip_install(extra: str) -> str:
    """The command that installs ``extra`` of glasses, as it can be typed: this interpreter's
    pip, and the checkout glasses was installed from (``-e`` when editable, as
    scripts/setup.sh does), else the distribution by name.  A bare ``pip install
    'glasses[...]'`` would reach another interpreter, or PyPI's unrelated "glasses"."""
    python = shlex.quote(sys.executable or "python3")
    return f"{python} -m pip install {_install_target(extra)}"


def _install_target(extra: str) -> str:
    from importlib.metadata import distributions

    origin = None
    # Every copy of the metadata: run from the checkout, its build's egg-info (no
    # direct_url.json) comes first on sys.path, before the venv's dist-info.
    for found in distributions(name=DISTRIBUTION):
        try:
            origin = json.loads(found.read_text("direct_url.json") or "null")
        except (ValueError, OSError):
            origin = None
        if origin is not None:
            break
    if isinstance(origin, dict) and str(origin.get("url", "")).startswith("file://"):
        folder = unquote(urlparse(str(origin["url"])).path)
        dir_info = origin.get("dir_info")
        if isinstance(dir_info, dict):  # a folder (a checkout), not a wheel file
            editable = "-e " if dir_info.get("editable") else ""
            return editable + shlex.quote(f"{folder}[{extra}]")
    return shlex.quote(f"{DISTRIBUTION}[{extra}]")


def require(module: str, extra: str, *, purpose: str = "") -> ModuleType:
    """Import ``module``; raise :class:`MissingExtraError` naming the :func:`pip_install`
    command of ``extra`` when it is not installed, :class:`BrokenExtraError` with the real
    cause when it is."""
    try:
        return importlib.import_module(module)
    except Exception as exc:  # OSError, ValueError...: what a compiled module's import may raise
        what = f" for {purpose}" if purpose else ""
        if is_not_installed(module, exc):
            raise MissingExtraError(
                f"the Python module {module!r} is needed{what} but is not installed: "
                f"run  {pip_install(extra)}"
            ) from exc
        cause = str(exc) or type(exc).__name__
        fix = import_fix(module, extra, exc)
        raise BrokenExtraError(
            f"the Python module {module!r}{_distribution(module)} {BROKEN_MARK}{what}: {cause}"
            + (f"{FIX_MARK}{fix}" if fix else "")
        ) from exc


def install_fix(error: str, extra: str) -> str:
    """The fix for an import failure reported as ``error``: the one a :class:`BrokenExtraError`
    message names ("; fix: ..."), none when it names none, else :func:`pip_install`."""
    _, mark, fix = error.rpartition(FIX_MARK)
    if mark:
        return fix
    return "" if BROKEN_MARK in error else pip_install(extra)


def is_not_installed(module: str, exc: BaseException) -> bool:
    """Whether ``exc`` says ``module`` itself (or a package above it) is absent, rather than
    something it imports."""
    name = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    return name is not None and (module == name or module.startswith(f"{name}."))


def import_fix(module: str, extra: str, exc: BaseException) -> str:
    """The command that fixes a failed import of an installed ``module``, or "" if unknown."""
    message = str(exc).lower()
    for words, fix in SYSTEM_LIBRARY_FIXES:
        if words in message:
            return fix
    if any(words in message for words in NUMPY_MISMATCH):
        package = _distribution_name(module) or module
        return (
            f"it was built for another NumPy: pip install --upgrade '{package}'"
            "  (or go back to the NumPy it was built for, e.g. pip install 'numpy<2')"
        )
    missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    if missing:
        return (
            f"{pip_install(extra)} installs what its dependencies declare; "
            f"if {missing!r} is still missing, install the package that provides it"
        )
    return ""


def _distribution_name(module: str) -> str | None:
    try:
        from importlib.metadata import packages_distributions

        names = packages_distributions().get(module.partition(".")[0])
    except Exception:  # metadata is a nicety here, never a second failure
        return None
    return names[0] if names else None


def _distribution(module: str) -> str:
    name = _distribution_name(module)
    if name is None:
        return ""
    from importlib.metadata import version

    try:
        return f" ({name} {version(name)})"
    except Exception:
        return f" ({name})"
