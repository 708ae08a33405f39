#!/usr/bin/env python3
"""Device-side cost of the link: instructions per received byte in the C library on a Cortex-M4.

    python scripts/bench_mcu.py                    # every profile, a table on stdout
    python scripts/bench_mcu.py --profiles 640x400x4 --json out.json

The heavy screen updates of ``scripts/bench_link.py`` (rendered by the real renderer, planned
by the real compositor, framed as on the wire) are fed to ``bench.elf`` of the reference
firmware (mcu/boards/mps2-an386), which runs ``gl_rx`` and ``gl_poll`` over them on
``qemu-system-arm -M mps2-an386 -icount shift=0``: every guest instruction then takes 1 ns of
virtual time, so the 25 MHz SysTick the firmware reads counts 40 instructions a cycle, and the
count is exact to +-40 per update. The stream is loaded into RAM with ``-device loader``; the
device's replies are dropped, as a UART's TX DMA would take them off the CPU.

- ``caption-line``: the partial text of a caption grows by a word: PackBits BLITs of one line;
- ``caption-scroll``: a new final line: the captions scroll up by a COPY and the line is blitted;
- ``page``: a full page of an answer replaces the captions (BLITs across the screen).

CPU share at a baud rate: instructions per byte x bytes per second (baud / 10) / the core's
instruction rate, taken as its clock (a Cortex-M4 retires about one instruction a cycle; loads
and taken branches take 2..3, so the real share is somewhat higher: see docs/benchmarks.md).
Also reported: RAM and flash of the reference firmware per profile (arm-none-eabi-size).
"""

from __future__ import annotations

import argparse
import json
import shlex
import struct
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "scripts"):
    if str(_path) not in sys.path:  # run as a plain script from a checkout
        sys.path.insert(0, str(_path))

from bench_link import build_cases  # noqa: E402

from firmware_bridge.compositor import Compositor  # noqa: E402
from firmware_bridge.protocol import Frame, Hello, MsgType, encode_frame, encode_payload  # noqa: E402
from firmware_bridge.protocol.geometry import DisplayGeometry  # noqa: E402
from firmware_bridge.protocol.messages import Message  # noqa: E402
from glasses.display.raster import Renderer  # noqa: E402
from hw_sim.profiles import PROFILES  # noqa: E402
from hw_sim.qemu_device import BUILD_DIR, build_firmware  # noqa: E402

INSNS_PER_TICK: Final = 40  # -icount shift=0: 1 ns per instruction; SysTick at 25 MHz
CASES: Final = {
    "caption-partial": "caption-line",
    "caption-scroll": "caption-scroll",
    "page": "page",
}
QEMU_TIMEOUT_S: Final = 300.0


@dataclass
class Result:
    profile: str
    case: str
    bytes: int
    instructions: int
    per_byte: float
    share_pct: float  # of a CLOCK_HZ core at BAUD


def frames(messages: list[Message], seq: int) -> tuple[bytes, int]:
    """``messages`` framed as a host sends them from sequence number ``seq``."""
    out = b""
    for msg in messages:
        out += encode_frame(Frame(type=msg.TYPE, seq=seq, ack=0, payload=encode_payload(msg)))
        seq = (seq + 1) & 0xFF
    return out, seq


def streams(profile: str) -> list[tuple[str, bytes]]:
    """(label, bytes): a HELLO, then for each case its ``before`` screen (label "") and the
    timed update to its ``after`` screen, planned by one compositor as the link would."""
    p = PROFILES[profile]
    hello = Hello(1, 1, 4096, 0x12345678)
    segments = [("", encode_frame(Frame(type=MsgType.HELLO, payload=encode_payload(hello))))]
    compositor = Compositor(p.width_px, p.height_px, p.bpp, p.max_payload)
    seq = 0
    for case in build_cases(Renderer(DisplayGeometry(p.width_px, p.height_px, p.bpp))):
        if case.key not in CASES or isinstance(case.after, int):
            continue
        setup, seq = frames(compositor.update(case.before), seq)
        timed, seq = frames(compositor.update(case.after), seq)
        segments += [("", setup), (CASES[case.key], timed)]
    return segments


def run_bench(profile: str, segments: list[tuple[str, bytes]], work: Path) -> list[int]:
    """Ticks per segment, from bench.elf under qemu -icount shift=0."""
    blob = b"GLBS" + struct.pack("<I", len(segments))
    blob += b"".join(struct.pack("<I", len(data)) + data for _, data in segments)
    stream = work / f"stream-{profile}.bin"
    stream.write_bytes(blob)
    elf = BUILD_DIR / profile / "bench.elf"
    command = ["qemu-system-arm", "-M", "mps2-an386", "-icount", "shift=0", "-kernel", str(elf)]
    command += ["-display", "none", "-monitor", "none", "-serial", "stdio"]
    command += ["-device", f"loader,file={stream},addr=0x21000000"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    ticks: list[int] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("error"):
                raise RuntimeError(f"bench.elf: {line.strip()}")
            if line.startswith("done"):
                break
            _, _index, _length, count = line.split()
            ticks.append(int(count))
    finally:
        proc.kill()
        proc.wait(QEMU_TIMEOUT_S)
    if len(ticks) != len(segments):
        raise RuntimeError(f"bench.elf reported {len(ticks)} of {len(segments)} segments")
    return ticks


def sizes(profile: str) -> dict[str, int]:
    """RAM (.data + .bss) and flash (.text + .data) of the reference firmware."""
    elf = BUILD_DIR / profile / "firmware.elf"
    size = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True)
    size.check_returncode()
    out = size.stdout
    rows = (line.split() for line in out.splitlines())
    section = {f[0]: int(f[1]) for f in rows if len(f) == 3 and f[1].isdigit()}
    data, bss = section.get(".data", 0), section.get(".bss", 0)
    return {"ram": data + bss, "flash": section.get(".text", 0) + data}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated")
    parser.add_argument("--baud", type=int, default=921_600, help="UART rate (bit/s, 10 a byte)")
    parser.add_argument("--clock-mhz", type=float, default=64.0, help="the MCU's core clock")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    bytes_per_s = args.baud / 10
    results: list[Result] = []
    memory: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mcu-") as tmp:
        for profile in args.profiles.split(","):
            build_firmware(profile)
            memory[profile] = sizes(profile)
            segments = streams(profile)
            ticks_per_segment = run_bench(profile, segments, Path(tmp))
            for (label, data), ticks in zip(segments, ticks_per_segment, strict=True):
                if label:
                    insns = ticks * INSNS_PER_TICK
                    share = 100 * insns / len(data) * bytes_per_s / (args.clock_mhz * 1e6)
                    results.append(
                        Result(profile, label, len(data), insns, insns / len(data), share)
                    )
    print(f"$ {shlex.join(['python', 'scripts/bench_mcu.py', *(argv or sys.argv[1:])])}")
    cpu = f"CPU at {args.baud} baud, {args.clock_mhz:g} MHz"
    print(f"\n| profile | update | bytes | instructions | per byte | {cpu} |")
    print("|---|---|---:|---:|---:|---:|")
    for r in results:
        counts = f"{r.bytes:,} | {r.instructions:,} | {r.per_byte:.1f} | {r.share_pct:.1f} %"
        print(f"| {r.profile} | {r.case} | {counts} |")
    print("\n| profile | firmware RAM (.data + .bss) | firmware flash (.text + .data) |")
    print("|---|---:|---:|")
    for profile, m in memory.items():
        print(f"| {profile} | {m['ram']:,} B | {m['flash']:,} B |")
    if args.json:
        report = {"results": [asdict(r) for r in results], "memory": memory}
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
