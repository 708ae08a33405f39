"""Strict JSON and typed, ranged fields of what a peer sends: a clear 400 for anything else."""

from __future__ import annotations

import json
import math
from typing import Any

from glasses.openai_wire.errors import bad

_JSON_NAMES = {bool: "boolean", int: "integer", float: "number", dict: "object", str: "string"}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(body: bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused (Python's json reads them by default), and so
    is nesting too deep for the parser or an integer too long to convert (400, not a crash)."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise bad("the request body is not valid JSON: it is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit, NaN
        raise bad(f"the request body is not valid JSON: {exc}") from None


def typed(data: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    """``data[key]`` if it is a JSON ``kind`` (``float``: any number), ``default`` if absent."""
    value = data.get(key)
    if value is None:
        return default
    # JSON true is a Python int too: keep booleans out of numeric fields and vice versa.
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        raise bad(f"{key} must be a JSON {_JSON_NAMES.get(kind, kind.__name__)}", key)
    return value


def real(
    data: dict[str, Any], key: str, low: float, high: float, *, low_open: bool = False
) -> float | None:
    """A finite number in ``[low, high]`` (``(low, high]`` when ``low_open``), or None."""
    value = typed(data, key, float, None)
    if value is None:
        return None
    # Python ints compare exactly at any size; float() of a huge one would overflow.
    ok = isinstance(value, int) or math.isfinite(value)
    if not (ok and (low < value if low_open else low <= value) and value <= high):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if math.isinf(high) else ']'}"
        raise bad(f"{key} must be a finite number in {interval}, got {value!r:.40}", key)
    return float(value)


def integer(data: dict[str, Any], key: str, low: int, high: int) -> int | None:
    """An integer in ``[low, high]``, or None."""
    value = typed(data, key, int, None)
    if value is not None and not low <= value <= high:
        raise bad(f"{key} must be an integer in [{low}, {high}]", key)
    return None if value is None else int(value)
