"""The picture ``glasses read`` and ``glasses look`` work on: an IMAGE file or ``--camera N``,
and from a camera its first still, sharp frame (as the glasses' READ and LOOK take it)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from glasses.errors import GlassesError

if TYPE_CHECKING:
    from glasses.sources.still import StillFrame

_CAMERA_HELP = (
    "camera index (see glasses devices), picamera2[:N], nvargus[:N], or a video file, image folder"
)


def add_picture_source(
    parser: argparse.ArgumentParser,
    image_help: str,
    timeout_type: Callable[[str], float] = float,
) -> None:
    """IMAGE or --camera N (one is required), and --timeout S for the camera's still frame."""
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("image", nargs="?", metavar="IMAGE", help=image_help)
    what.add_argument("--camera", metavar="N", help=_CAMERA_HELP)
    parser.add_argument(
        "--timeout",
        type=timeout_type,
        default=5.0,
        metavar="S",
        help="with --camera: wait at most S seconds for a still frame (default 5)",
    )


def camera_still(camera: str, timeout_s: float, fps: float | None = None) -> StillFrame:
    """The camera's first still, sharp frame, else the sharpest one seen within ``timeout_s``;
    an error naming the camera when it delivered none."""
    from glasses.sources.camera_backends import open_camera
    from glasses.sources.still import wait_for_still_frame

    with open_camera(camera, fps=fps) as source:
        still = wait_for_still_frame(source, timeout_s=timeout_s)
    if still is None:
        raise GlassesError(f"camera {camera} delivered no frame within {timeout_s:g} s")
    return still
