"""Hand freed heap memory back to the operating system after a load.

Loading parses large files (the 7-18 MB ``tokenizer.json``, the ONNX graph) into temporary
structures; glibc's allocator keeps most of what they freed mapped, so it would count in the
process's resident memory for good (~100 MB after a Qwen tokenizer).  ``malloc_trim(0)`` returns
it.  Elsewhere (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from typing import Any


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def release_free_heap() -> bool:
    """Return the allocator's free memory to the OS; True when that was possible."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
