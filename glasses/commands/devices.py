"""``glasses devices``: the microphones and cameras this computer has, with their indexes."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "devices",
        help="list audio inputs and cameras",
        description="List audio inputs (PortAudio, through sounddevice) and cameras (V4L2 "
        "nodes, probed with OpenCV; Raspberry Pi CSI cameras through picamera2), with the "
        "indexes that --mic and --camera take.",
    )
    parser.add_argument("--no-probe", action="store_true", help="do not open cameras")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from glasses.sources import devices

    audio: list[Any] = []
    audio_note = ""
    try:
        audio = devices.list_audio_inputs()
    except ImportError as exc:  # the audio extra is missing: say how to get it
        audio_note = str(exc)
    except Exception as exc:  # PortAudio missing or failing: still list the cameras
        audio_note = f"cannot query audio devices: {exc}"
    cameras = devices.list_cameras(probe=not args.no_probe)
    pi_cameras = devices.list_pi_cameras()
    if args.json:
        report = {
            "audio_inputs": [asdict(a) for a in audio],
            "audio_note": audio_note,
            "cameras": [asdict(c) for c in cameras],
            "pi_cameras": pi_cameras,
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    print("Audio inputs:")
    if audio_note:
        print(f"  ({audio_note})")
    elif not audio:
        print("  (none found)")
    for a in audio:
        mark = "*" if a.is_default else " "
        print(
            f" {mark}[{a.index}] {a.name}: {a.max_input_channels} ch, "
            f"{a.default_sample_rate_hz} Hz ({a.host_api})"
        )
    print("Cameras:")
    if not cameras and not pi_cameras:
        print("  (none found)")
    for c in cameras:
        if c.opened:
            fmt = f"{c.width_px}x{c.height_px} @ {c.fps:g} fps {c.fourcc}".rstrip()
        else:
            fmt = "not a capture node" if not args.no_probe else "not probed"
        print(f"  [{c.index}] {c.path} {c.name}: {fmt}")
    for i, name in enumerate(pi_cameras):
        print(f"  [picamera2:{i}] {name}")
    return 0
