#!/usr/bin/env python3
"""Write the seed corpus of the fuzz targets (mcu/fuzz/corpus/<target>/) from the test vectors
of docs/protocol.md section 12 and a few of the differential test's random streams.

    python mcu/fuzz/make_seeds.py      # then scripts/fuzz_mcu.sh grows and minimises it
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from mcu_support.streams import StreamMaker  # noqa: E402
from vector_support import BY_NAME, of_kind  # noqa: E402

from hw_sim.profiles import PROFILES  # noqa: E402

CORPUS: Final = ROOT / "mcu" / "fuzz" / "corpus"
PROFILE: Final = PROFILES["640x400x4"]  # the fuzzers' default build


def seeds() -> dict[str, list[bytes]]:
    frames = of_kind("frame-vector")
    to_device = [v for v in frames if v.hex("header")[1] not in (0x03, 0x05, 0x20, 0x21)]
    session = b"".join(BY_NAME[n].hex("wire") for n in ("hello", "blit_raw", "blit_packbits",
                       "present", "clear", "set_brightness", "sleep", "wake", "copy_scroll_up",
                       "ping", "reset"))  # fmt: skip
    streams = [
        b"".join(step.rx for step in StreamMaker(PROFILE, seed).steps(12)) for seed in range(6)
    ]
    out: dict[str, list[bytes]] = {
        "rx_stream": [b"\x03" + v.hex("wire") for v in frames]
        + [bytes([i % 4]) + v.hex("wire") for i, v in enumerate(of_kind("stream-vector"))],
        "device_stream": [b"\x00" + session, b"\x01" + session]
        + [b"\x00" + s for s in streams]
        + [
            b"\x03" + b"".join(bytes([len(raw)]) + raw for raw in records)
            for records in (
                [v.hex("header") + v.hex("payload") for v in to_device][:12],
                [
                    BY_NAME["hello"].hex("header") + BY_NAME["hello"].hex("payload"),
                    b"\x01\x30\x00\x00\x01\x06\x00SMP1x\x00",
                ],
            )
        ],
        "message": [bytes([v.hex("header")[1]]) + v.hex("payload") for v in to_device],
        "blit": [BY_NAME[n].hex("payload") for n in ("blit_raw", "blit_packbits")]
        + [StreamMaker(PROFILE, s)._blit() for s in range(8)],
        "copy": [BY_NAME["copy_scroll_up"].hex("payload")]
        + [StreamMaker(PROFILE, s)._copy() + b"\x5a" for s in range(8)],
        "packbits": [
            struct.pack("<HB", int(v.values["length"]), 8) + v.hex("encoded")
            for v in of_kind("packbits-vector")
        ],
    }
    out["message"].append(bytes([0x21]) + json.dumps("x").encode())
    return out


def main() -> int:
    for target, items in seeds().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for data in items:
            (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
        print(f"{target}: {len(items)} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
