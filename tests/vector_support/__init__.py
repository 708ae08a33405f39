"""The test vectors of docs/protocol.md section 12, parsed once for every test that uses them
(the Python codec in test_protocol_vectors.py, the C device library in test_mcu_*.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

DOC: Final = Path(__file__).resolve().parent.parent.parent / "docs" / "protocol.md"
KINDS: Final = ("frame-vector", "crc-vector", "cobs-vector", "packbits-vector", "stream-vector")
REQUIRED: Final[dict[str, set[str]]] = {
    "frame-vector": {"name", "message", "fields", "seq", "ack", "header", "payload", "crc", "wire"},
    "crc-vector": {"name", "crc", "wire"},
    "cobs-vector": {"name", "decoded", "encoded", "canonical"},
    "packbits-vector": {"name", "length", "decoded", "encoded", "canonical"},
    "stream-vector": {"name", "max-payload", "wire", "expect"},
}
OPTIONAL: Final[dict[str, set[str]]] = {"crc-vector": {"input", "input-ascii"}}


@dataclass(frozen=True)
class Vector:
    kind: str
    line: int  # 1-based line of the opening fence, for messages
    values: dict[str, str]

    @property
    def name(self) -> str:
        return self.values["name"]

    def hex(self, key: str) -> bytes:
        return bytes.fromhex(self.values[key])

    def __str__(self) -> str:
        return f"{self.kind} {self.values.get('name', '?')} (docs/protocol.md:{self.line})"


_FENCE_OPEN = re.compile(r"^```\s*([A-Za-z0-9_-]+)\s*$")
_KEY_LINE = re.compile(r"^([a-z0-9_-]+):(?: (.*))?$")


def parse_vectors(text: str) -> list[Vector]:
    """Every vector block of ``text``; ValueError (with a line number) on a malformed one."""
    vectors: list[Vector] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if m is None or not m.group(1).endswith("-vector"):
            i += 1
            continue
        kind, start = m.group(1), i + 1
        if kind not in KINDS:
            raise ValueError(f"docs/protocol.md:{start}: unknown vector kind {kind!r}")
        values: dict[str, str] = {}
        key: str | None = None
        i += 1
        while True:
            if i >= len(lines):
                raise ValueError(f"docs/protocol.md:{start}: unterminated {kind} block")
            line = lines[i]
            i += 1
            if line.strip() == "```":
                break
            if line[:1].isspace() and line.strip():
                if key is None:
                    raise ValueError(f"docs/protocol.md:{i}: continuation without a key")
                values[key] = f"{values[key]} {line.strip()}".strip()
                continue
            km = _KEY_LINE.match(line.rstrip())
            if km is None:
                raise ValueError(f"docs/protocol.md:{i}: not a 'key: value' line: {line!r}")
            key = km.group(1)
            if key in values:
                raise ValueError(f"docs/protocol.md:{i}: key {key!r} repeated")
            values[key] = (km.group(2) or "").strip()
        missing = REQUIRED[kind] - values.keys()
        unknown = values.keys() - REQUIRED[kind] - OPTIONAL.get(kind, set())
        if missing or unknown:
            raise ValueError(
                f"docs/protocol.md:{start}: {kind} missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}"
            )
        vectors.append(Vector(kind, start, values))
    return vectors


DOC_TEXT: Final = DOC.read_text(encoding="utf-8")
VECTORS: Final = parse_vectors(DOC_TEXT)
BY_NAME: Final = {v.name: v for v in VECTORS}


def of_kind(kind: str) -> list[Vector]:
    return [v for v in VECTORS if v.kind == kind]


def ids(vectors: list[Vector]) -> list[str]:
    return [v.name for v in vectors]
