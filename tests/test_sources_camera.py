"""Camera sources (newest frame wins, lost cameras, files) and the still/sharp frame chooser."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from perception_support.signs import blur, draw

from glasses.errors import GlassesError
from glasses.sources.camera import CameraLostError, Image, ThreadedCamera
from glasses.sources.frame_select import (
    FrameSelectConfig,
    SharpFrameSelector,
    laplacian_variance,
    motion,
    thumbnail_gray,
)

cv2 = pytest.importorskip("cv2")

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def sign() -> np.ndarray:
    return draw([[(40, "出口 EXIT")], [(40, "西湖 West Lake")]], size=(640, 360))


def _shift(image: np.ndarray, dx: int) -> np.ndarray:
    return np.roll(image, dx, axis=1)


def test_sharpness_orders_blur_levels(sign: np.ndarray) -> None:
    scores = [
        laplacian_variance(thumbnail_gray(blur(sign, s) if s else sign)) for s in (0, 1, 2, 4)
    ]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 5 * scores[2]


def test_thumbnail_is_small_grey_and_motion_sees_a_shift(sign: np.ndarray) -> None:
    gray = thumbnail_gray(sign, 320)
    assert gray.ndim == 2 and max(gray.shape) <= 320
    assert motion(gray, gray) == 0.0
    assert motion(gray, thumbnail_gray(_shift(sign, 24), 320)) > 3.0


def test_selector_waits_for_a_still_sharp_frame_and_chooses_once(sign: np.ndarray) -> None:
    # The head turns (moving frames), settles on a blurred frame (focus hunting), then sharpens.
    frames = [_shift(sign, 30 * k) for k in range(4)]
    frames += [blur(frames[-1], 3)] * 2 + [frames[-1]] * 6
    selector = SharpFrameSelector(FrameSelectConfig(still_frames=3))
    chosen = [i for i, f in enumerate(frames) if selector.push(i, thumbnail_gray(f))]
    # Frames 3..6 form a still run (refocusing is not motion); 4 and 5 are too blurred, 6 is the
    # first sharp frame of the run.
    assert chosen == [6]


def test_selector_rearms_after_the_head_moves(sign: np.ndarray) -> None:
    selector = SharpFrameSelector(FrameSelectConfig(still_frames=2, min_gap_frames=1))
    sequence = [sign] * 4 + [_shift(sign, 60)] * 4
    chosen = [i for i, f in enumerate(sequence) if selector.push(i, thumbnail_gray(f))]
    assert chosen == [1, 5]


def test_selector_ignores_a_blank_wall() -> None:
    wall = np.full((360, 640, 3), 200, dtype=np.uint8)
    selector = SharpFrameSelector()
    assert not any(selector.push(i, thumbnail_gray(wall)) for i in range(10))


class ScriptedReader:
    """Hands out numbered images; ``fail_from`` makes a live camera go dead."""

    def __init__(
        self, count: int, *, live: bool = True, fail_from: int | None = None, delay_s: float = 0.0
    ):
        self.count, self._live, self.fail_from, self.delay_s = count, live, fail_from, delay_s
        self.n = 0
        self.closed = False

    @property
    def live(self) -> bool:
        return self._live

    @property
    def fps(self) -> float:
        return 0.0

    def read(self) -> Image | None:
        time.sleep(self.delay_s)
        if (self.fail_from is not None and self.n >= self.fail_from) or self.n >= self.count:
            return None
        self.n += 1
        return np.full((4, 4, 3), self.n, dtype=np.uint8)

    def close(self) -> None:
        self.closed = True


def test_newest_frame_wins_and_skipped_frames_are_counted() -> None:
    reader = ScriptedReader(30, live=False)
    camera = ThreadedCamera(reader)
    frames = []
    last = -1
    while (frame := camera.wait_newer(last, 2.0)) is not None:
        frames.append(frame.index)
        last = frame.index
        time.sleep(0.01)  # a slow consumer: the reader runs ahead
    camera.close()
    stats = camera.stats()
    assert stats.finished and stats.lost is None and reader.closed
    assert frames == sorted(frames) and frames[-1] == 29
    assert stats.captured == 30
    assert stats.skipped == 30 - len(frames)


def test_a_camera_that_stops_delivering_is_reported_lost() -> None:
    camera = ThreadedCamera(ScriptedReader(100, fail_from=3), max_failures=3)
    with pytest.raises(CameraLostError, match="stopped delivering frames"):
        last = -1
        while True:
            frame = camera.wait_newer(last, 2.0)
            last = frame.index if frame is not None else last
    assert camera.stats().lost
    camera.close()


def test_video_file_and_folder_sources(tmp_path: Path, sign: np.ndarray) -> None:
    from glasses.sources.camera_backends import open_camera

    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 360))
    for k in range(10):
        writer.write(_shift(sign, 5 * k))
    writer.release()
    with open_camera(str(video)) as camera:
        seen = []
        while (frame := camera.wait_newer(seen[-1] if seen else -1, 2.0)) is not None:
            seen.append(frame.index)
            assert frame.image.shape == (360, 640, 3)
    assert seen[-1] == 9

    for name in ("b.png", "a.png"):
        cv2.imwrite(str(tmp_path / name), sign)
    with open_camera(str(tmp_path), fps=50.0) as camera:
        first = camera.wait_newer(-1, 2.0)
        assert first is not None and first.image.shape == sign.shape


def test_camera_errors_name_the_problem(tmp_path: Path) -> None:
    from glasses.sources.camera_backends import nvargus_pipeline, open_camera, read_image

    with pytest.raises(GlassesError, match="no camera 42"):
        open_camera(42)
    with pytest.raises(GlassesError, match="no camera, image, folder or video"):
        open_camera(str(tmp_path / "missing.mp4"))
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(GlassesError, match="cannot read"):
        read_image(tmp_path / "bad.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GlassesError, match="no images"):
        open_camera(str(tmp_path / "empty"))
    pipeline = nvargus_pipeline(sensor_id=1, width_px=1920, height_px=1080, fps=30)
    assert pipeline.startswith("nvarguscamerasrc sensor-id=1 ")
    assert "width=1920,height=1080,framerate=30/1" in pipeline
    assert pipeline.endswith("appsink drop=true max-buffers=1")


def test_wait_for_still_frame_picks_the_sharp_frame_of_a_clip(sign: np.ndarray) -> None:
    from glasses.sources.still import wait_for_still_frame

    class Clip(ScriptedReader):
        def __init__(self, images: list[np.ndarray]):
            super().__init__(len(images), live=False)
            self.images = images

        def read(self) -> Image | None:
            if self.n >= len(self.images):
                return None
            self.n += 1
            return self.images[self.n - 1]

    images = [_shift(sign, 40 * k) for k in range(3)] + [blur(sign, 4)] * 2 + [sign] * 4
    with ThreadedCamera(Clip(images), pace_files=False) as camera:
        while not camera.stats().finished:  # unpaced: the whole clip is read at once
            time.sleep(0.005)
        still = wait_for_still_frame(camera, timeout_s=1.0)
    assert still is not None
    assert not still.chosen  # only the newest frame was available: it is the fallback
    assert still.frame.index == len(images) - 1


def test_nvargus_without_gstreamer_names_the_install_fix() -> None:
    """PyPI's OpenCV has no GStreamer: the error says what scripts/install.sh does about it."""
    import re

    from glasses.sources.camera_backends import gstreamer_reader, nvargus_pipeline

    if re.search(r"GStreamer:\s*YES", cv2.getBuildInformation()):
        pytest.skip("this OpenCV has GStreamer")
    with pytest.raises(GlassesError) as error:
        gstreamer_reader(nvargus_pipeline())
    message = str(error.value)
    assert "sudo apt install nvidia-opencv" in message and "scripts/install.sh" in message
    assert "--system-site-packages" in message and "uninstalls opencv-python" in message
