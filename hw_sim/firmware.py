"""Firmware for the simulated display MCU: app bodies to sign, and the built-in factory image.

A simulated app body starts with ``GLSIMAPP`` and a one-line JSON manifest saying how the
app behaves once booted; the rest is filler so images have a realistic size. Behaviours:

- ``ok``: a working display app (any body without the manifest behaves like this too);
- ``silent``: hangs at start-up and never answers HELLO, until its watchdog resets the MCU;
- ``no-pong``: answers HELLO but never PING, so it fails the host's health check.

Build a body, then sign it with MCUboot's imgtool (docs/flashing.md)::

    python -m hw_sim.firmware -o app.bin --size 4096 [--behaviour silent]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from firmware_bridge.update.image import (
    BOARD_TLV,
    HEADER,
    IMAGE_MAGIC,
    TLV_ENTRY,
    TLV_INFO,
    TLV_INFO_MAGIC,
    TLV_PROT_INFO_MAGIC,
    ImageVersion,
    Tlv,
)

APP_MAGIC: Final = b"GLSIMAPP"
BEHAVIOURS: Final = ("ok", "silent", "no-pong")
FACTORY_BODY_BYTES: Final = 2048


@dataclass(frozen=True)
class AppManifest:
    behaviour: str = "ok"


def build_app(size_bytes: int = 4096, behaviour: str = "ok", seed: int = 0) -> bytes:
    """A simulated app body of ``size_bytes`` (at least the manifest)."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"behaviour must be one of {', '.join(BEHAVIOURS)}")
    head = APP_MAGIC + json.dumps({"behaviour": behaviour}).encode() + b"\n"
    filler = hashlib.shake_256(f"glasses-sim-app-{seed}".encode()).digest(
        max(0, size_bytes - len(head))
    )
    return head + filler


def read_manifest(body: bytes) -> AppManifest:
    if not body.startswith(APP_MAGIC):
        return AppManifest()
    line = body[len(APP_MAGIC) :].split(b"\n", 1)[0]
    try:
        behaviour = str(json.loads(line).get("behaviour", "ok"))
    except (ValueError, AttributeError):
        return AppManifest()
    return AppManifest(behaviour if behaviour in BEHAVIOURS else "ok")


def _tlv_area(magic: int, entries: Sequence[tuple[int, bytes]]) -> bytes:
    body = b"".join(TLV_ENTRY.pack(kind, len(value)) + value for kind, value in entries)
    return TLV_INFO.pack(magic, TLV_INFO.size + len(body)) + body


def build_image(body: bytes, version: ImageVersion, board: str | None) -> bytes:
    """An unsigned MCUboot image (hash TLV only), as ``imgtool sign`` without a key makes."""
    protected = (
        _tlv_area(TLV_PROT_INFO_MAGIC, [(BOARD_TLV, board.encode("ascii"))]) if board else b""
    )
    header = HEADER.pack(
        IMAGE_MAGIC,
        0,
        HEADER.size,
        len(protected),
        len(body),
        0,
        version.major,
        version.minor,
        version.revision,
        version.build,
    )
    hashed = header + body + protected
    return hashed + _tlv_area(TLV_INFO_MAGIC, [(Tlv.SHA256, hashlib.sha256(hashed).digest())])


def factory_image(fw_version: tuple[int, int, int], board: str) -> bytes:
    """The image a fresh board leaves the factory with (trusted by hash, not signature)."""
    return build_image(build_app(FACTORY_BODY_BYTES, seed=1), ImageVersion(*fw_version), board)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hw_sim.firmware", description="Build a simulated display app body."
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="body file to write")
    parser.add_argument("--size", type=int, default=4096, help="body size in bytes")
    parser.add_argument("--behaviour", choices=BEHAVIOURS, default="ok")
    parser.add_argument("--seed", type=int, default=0, help="varies the filler bytes")
    args = parser.parse_args(argv)
    try:
        args.output.write_bytes(build_app(args.size, args.behaviour, args.seed))
    except OSError as exc:
        print(f"hw_sim.firmware: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "APP_MAGIC",
    "BEHAVIOURS",
    "AppManifest",
    "build_app",
    "build_image",
    "factory_image",
    "read_manifest",
]
