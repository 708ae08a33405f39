"""A LOOK's capture: the capture stage takes the still a read takes and hands it on as a JPEG
(colours right way round, scaled down to its bound), and says so when the camera fails."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from glasses.errors import GlassesError
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import CaptureRequest, Message, PeripheralState, StillImage
from glasses.runtime.feeds import LoopingImageReader
from glasses.runtime.vision_stages import CaptureStage
from glasses.sources.camera import ThreadedCamera
from glasses.sources.jpeg import encode_jpeg

pytestmark = pytest.mark.fast

WAIT_S = 30.0  # a bound for a hung test, not a timing assertion


def product_bgr() -> np.ndarray:
    """1200 x 800: a red box (BGR order) on white."""
    image = np.full((800, 1200, 3), 255, dtype=np.uint8)
    image[200:600, 300:900] = (0, 0, 220)  # BGR red
    return image


def decoded(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))


def test_encode_jpeg_scales_down_and_turns_bgr_into_rgb() -> None:
    jpeg = encode_jpeg(product_bgr(), max_side_px=600)
    assert (jpeg.width_px, jpeg.height_px) == (600, 400)
    rgb = decoded(jpeg.data)
    assert rgb.shape == (400, 600, 3)
    red = rgb[200, 300].astype(int)
    assert red[0] > 180 and red[1] < 60 and red[2] < 60  # red, not blue
    small = encode_jpeg(product_bgr()[:100, :150], max_side_px=600)  # never scaled up
    assert (small.width_px, small.height_px) == (150, 100)
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        encode_jpeg(np.zeros((4, 4, 3), dtype=np.float32))


def capture(opener: object, purpose: str = "look") -> list[Message]:
    out: list[Message] = []
    done = asyncio.Event()

    async def send(msg: Message) -> None:
        out.append(msg)
        if isinstance(msg, StillImage):
            done.set()

    async def main() -> None:
        inbox: Channel[CaptureRequest] = Channel("capture", 1, Overflow.KEEP_NEWEST)
        stage = CaptureStage(
            inbox,
            send,
            opener,  # type: ignore[arg-type]
            still_timeout_s=WAIT_S,
            idle_close_s=0,
            look_max_side_px=512,
        )
        task = asyncio.ensure_future(stage.run())
        await inbox.put(CaptureRequest(7, "look"))
        await asyncio.wait_for(done.wait(), WAIT_S)
        task.cancel()
        await stage.close()
        stage.worker.close()

    asyncio.run(main())
    return out


def test_a_look_capture_answers_with_the_still_as_jpeg() -> None:
    sent = capture(lambda: ThreadedCamera(LoopingImageReader(product_bgr(), 50.0)))
    still = next(m for m in sent if isinstance(m, StillImage))
    assert still.request_id == 7 and not still.error
    assert (still.width_px, still.height_px) == (512, 341)
    assert decoded(still.jpeg).shape == (341, 512, 3)


def test_a_look_without_a_camera_is_answered_with_the_error() -> None:
    def no_camera() -> ThreadedCamera:
        raise GlassesError("camera 0 is not there")

    sent = capture(no_camera)
    assert PeripheralState("camera", False, "camera 0 is not there") in sent
    still = next(m for m in sent if isinstance(m, StillImage))
    assert still.jpeg == b"" and still.error == "camera 0 is not there"
