"""Finding audio inputs (through sounddevice) and cameras (V4L2 nodes, OpenCV, picamera2)."""

from __future__ import annotations

import contextlib
import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glasses.errors import GlassesError
from glasses.extras import BrokenExtraError, require


@dataclass(frozen=True)
class AudioInputInfo:
    index: int
    name: str
    max_input_channels: int
    default_sample_rate_hz: int
    host_api: str
    is_default: bool


@dataclass(frozen=True)
class CameraInfo:
    index: int
    path: str
    name: str
    width_px: int = 0
    height_px: int = 0
    fps: float = 0.0
    fourcc: str = ""
    opened: bool = False


def sounddevice_module() -> Any:
    try:
        return require("sounddevice", "audio", purpose="microphone input")
    except BrokenExtraError as exc:  # installed, but e.g. the PortAudio C library is not
        raise GlassesError(str(exc)) from exc  # the message names the fix (libportaudio2)


def list_audio_inputs(sd: Any | None = None) -> list[AudioInputInfo]:
    """Every device with at least one input channel, in PortAudio's index order."""
    sd = sd if sd is not None else sounddevice_module()
    host_apis = [str(api["name"]) for api in sd.query_hostapis()]
    default_in = _default_input_index(sd)
    found = []
    for index, dev in enumerate(sd.query_devices()):
        if int(dev["max_input_channels"]) <= 0:
            continue
        host = int(dev.get("hostapi", 0))
        found.append(
            AudioInputInfo(
                index=index,
                name=str(dev["name"]),
                max_input_channels=int(dev["max_input_channels"]),
                default_sample_rate_hz=int(float(dev["default_samplerate"])),
                host_api=host_apis[host] if 0 <= host < len(host_apis) else "?",
                is_default=index == default_in,
            )
        )
    return found


def resolve_audio_input(device: int | str | None, sd: Any | None = None) -> AudioInputInfo:
    """An input by index, by (case-insensitive) name substring, or the default one."""
    inputs = list_audio_inputs(sd)
    if not inputs:
        raise GlassesError("no audio input device found (is a microphone connected?)")
    if device is None:
        return next((d for d in inputs if d.is_default), inputs[0])
    if isinstance(device, int) or str(device).isdigit():
        wanted = int(device)
        match = [d for d in inputs if d.index == wanted]
    else:
        match = [d for d in inputs if str(device).casefold() in d.name.casefold()]
    if len(match) == 1:
        return match[0]
    names = ", ".join(f"{d.index}: {d.name}" for d in inputs)
    what = "matches several" if match else "matches no"
    raise GlassesError(f"{device!r} {what} audio input; inputs are {names} (see glasses devices)")


def _default_input_index(sd: Any) -> int:
    with contextlib.suppress(Exception):  # PortAudio raises when there is no default at all
        default = sd.default.device
        index = default[0] if isinstance(default, (list, tuple)) else default
        return int(index) if index is not None else -1
    return -1


def list_cameras(*, probe: bool = True, max_nodes: int = 16) -> list[CameraInfo]:
    """V4L2 capture nodes (``/dev/videoN``) with their driver names, probed with OpenCV.

    Probing opens each node, which takes a moment and fails for metadata-only nodes (UVC
    cameras expose two); those are listed with ``opened=False``.
    """
    cameras = []
    for path in sorted(glob.glob("/dev/video*"), key=_node_number)[:max_nodes]:
        index = _node_number(path)
        name_file = Path(f"/sys/class/video4linux/video{index}/name")
        name = name_file.read_text().strip() if name_file.exists() else ""
        info = CameraInfo(index=index, path=path, name=name)
        cameras.append(_probe(info) if probe else info)
    return cameras


def _node_number(path: str) -> int:
    match = re.search(r"(\d+)$", path)
    return int(match.group(1)) if match else -1


def _probe(info: CameraInfo) -> CameraInfo:
    try:
        cv2 = require("cv2", "camera", purpose="probing cameras")
    except ImportError:
        return info
    capture = cv2.VideoCapture(info.index, cv2.CAP_V4L2)
    try:
        if not capture.isOpened():
            return info
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
        return CameraInfo(
            index=info.index,
            path=info.path,
            name=info.name,
            width_px=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height_px=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=float(capture.get(cv2.CAP_PROP_FPS)),
            fourcc="".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\0 "),
            opened=True,
        )
    finally:
        capture.release()


def list_pi_cameras() -> list[str]:
    """Raspberry Pi CSI cameras seen by libcamera (empty when picamera2 is not installed)."""
    try:
        from picamera2 import Picamera2  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return []
    return [str(cam.get("Model", cam)) for cam in Picamera2.global_camera_info()]
