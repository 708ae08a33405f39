"""Frame readers: OpenCV VideoCapture (USB cameras, video files), still images and folders,
Raspberry Pi CSI cameras through picamera2, and Jetson CSI cameras through GStreamer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from glasses.errors import GlassesError
from glasses.sources.camera import Image, ThreadedCamera, cv2_module

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})


def read_image(path: str | Path) -> Image:
    """A BGR image from a file, or a :class:`GlassesError` saying why not."""
    cv2 = cv2_module()
    p = Path(path)
    if not p.is_file():
        raise GlassesError(f"image not found: {p}")
    # imdecode of the bytes, not imread: imread fails silently (None) and cannot say why.
    image = cv2.imdecode(np.fromfile(str(p), dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise GlassesError(f"cannot read {p} as an image (unsupported or corrupt file)")
    return np.asarray(image, dtype=np.uint8)


class VideoCaptureReader:
    """``cv2.VideoCapture`` on a device index, a video file or a GStreamer pipeline."""

    def __init__(self, source: int | str, *, api: int | None = None, live: bool | None = None):
        cv2 = cv2_module()
        self._capture = cv2.VideoCapture(source) if api is None else cv2.VideoCapture(source, api)
        if not self._capture.isOpened():
            self._capture.release()
            what = f"camera {source}" if isinstance(source, int) else f"video source {source!r}"
            raise GlassesError(f"cannot open {what} (see: glasses devices)")
        self._live = isinstance(source, int) if live is None else live
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 0 < fps < 1000 else 30.0

    @property
    def live(self) -> bool:
        return self._live

    @property
    def fps(self) -> float:
        return self._fps

    def read(self) -> Image | None:
        ok, image = self._capture.read()
        return np.asarray(image, dtype=np.uint8) if ok and image is not None else None

    def close(self) -> None:
        self._capture.release()


class ImageFolderReader:
    """One image file, or every image in a folder (sorted by name), as a short "video"."""

    def __init__(self, path: str | Path, *, fps: float = 5.0) -> None:
        p = Path(path)
        if p.is_dir():
            self._paths = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
            if not self._paths:
                raise GlassesError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {p}")
        else:
            self._paths = [p]
        self._images = [read_image(q) for q in self._paths[:1]]  # fail early on a bad file
        self._next = 0
        self._fps = fps

    @property
    def live(self) -> bool:
        return False

    @property
    def fps(self) -> float:
        return self._fps

    def read(self) -> Image | None:
        if self._next >= len(self._paths):
            return None
        image = self._images[0] if self._next == 0 else read_image(self._paths[self._next])
        self._next += 1
        return image

    def close(self) -> None:
        self._images.clear()


class Picamera2Reader:
    """Raspberry Pi CSI camera (libcamera).  picamera2 comes from apt: python3-picamera2."""

    def __init__(self, camera_num: int = 0, *, width_px: int = 1280, height_px: int = 720):
        try:
            from picamera2 import Picamera2  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise GlassesError(
                "picamera2 is not installed: on Raspberry Pi OS run  sudo apt install "
                "python3-picamera2  and create the venv with --system-site-packages"
            ) from exc
        self._camera: Any = Picamera2(camera_num)
        config = self._camera.create_video_configuration(
            # picamera2's "RGB888" is stored B, G, R per pixel: OpenCV's order, no conversion.
            main={"size": (width_px, height_px), "format": "RGB888"}
        )
        self._camera.configure(config)
        self._camera.start()

    @property
    def live(self) -> bool:
        return True

    @property
    def fps(self) -> float:
        return 30.0

    def read(self) -> Image | None:
        return np.asarray(self._camera.capture_array("main"), dtype=np.uint8)

    def close(self) -> None:
        self._camera.stop()
        self._camera.close()


def nvargus_pipeline(
    sensor_id: int = 0, width_px: int = 1280, height_px: int = 720, fps: int = 30, flip: int = 0
) -> str:
    """GStreamer pipeline for a Jetson CSI camera, ending in BGR frames for OpenCV's appsink."""
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} ! "
        f"video/x-raw(memory:NVMM),width={width_px},height={height_px},framerate={fps}/1 ! "
        f"nvvidconv flip-method={flip} ! video/x-raw,format=BGRx ! "
        "videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1"
    )


def gstreamer_reader(pipeline: str) -> VideoCaptureReader:
    cv2 = cv2_module()
    if not _has_gstreamer(cv2):
        raise GlassesError(
            f"this OpenCV ({getattr(cv2, '__file__', '?')}) has no GStreamer support; PyPI's "
            "opencv-python never has. On a Jetson: sudo apt install nvidia-opencv, then run "
            "sudo bash scripts/install.sh again (it makes the venv with "
            "--system-site-packages and uninstalls opencv-python from it, so JetPack's cv2 "
            "is the one imported)"
        )
    return VideoCaptureReader(pipeline, api=cv2.CAP_GSTREAMER, live=True)


def _has_gstreamer(cv2: Any) -> bool:
    for line in str(cv2.getBuildInformation()).splitlines():
        if line.strip().startswith("GStreamer:"):
            return "YES" in line
    return False


def open_camera(spec: str | int, *, fps: float | None = None) -> ThreadedCamera:
    """``0`` (device index), ``picamera2[:N]``, ``nvargus[:N]``, a video, an image or a folder."""
    text = str(spec)
    if text.isdigit():
        # V4L2 directly: letting OpenCV try every backend in turn is slow and noisy.
        linux = sys.platform.startswith("linux")
        if linux and not Path(f"/dev/video{text}").exists():
            raise GlassesError(
                f"no camera {text}: /dev/video{text} does not exist (see: glasses devices)"
            )
        api = cv2_module().CAP_V4L2 if linux else None
        return ThreadedCamera(VideoCaptureReader(int(text), api=api), name=f"camera {text}")
    kind, _, arg = text.partition(":")
    if kind == "picamera2":
        return ThreadedCamera(Picamera2Reader(int(arg or 0)), name=text)
    if kind == "nvargus":
        return ThreadedCamera(gstreamer_reader(nvargus_pipeline(int(arg or 0))), name=text)
    path = Path(text)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ThreadedCamera(ImageFolderReader(path, fps=fps or 5.0), name=path.name)
    if not path.exists():
        raise GlassesError(f"no camera, image, folder or video at {text!r} (see: glasses devices)")
    return ThreadedCamera(VideoCaptureReader(text, live=False), name=path.name)
