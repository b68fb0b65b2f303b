"""The Pi camera adapter against a stand-in following picamera2's documented API, and for real
on a Pi (marked ``pi``).

The stand-in implements what the adapter uses, as the Picamera2 manual documents it:
``create_video_configuration(main=, lores=, controls=, buffer_count=)``, ``configure``,
``start``, ``capture_request(wait=False)`` returning a job, ``wait(job, timeout=)``, and the
``CompletedRequest``'s ``make_array(name)``, ``get_metadata()`` (``SensorTimestamp`` in ns) and
``release()``. Arrays follow the manual's formats: RGB888 is (h, w, 3) in B,G,R byte order,
YUV420 is (h * 3 / 2, w) planar.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from firmware.camera.picam import PiCamera, pi_lores_format
from firmware.errors import CameraError, CameraStalled

FRAME_NS = 66_666_000  # 15 fps


class Request:
    def __init__(self, cam: StandInPicamera2, ts_ns: int) -> None:
        self.cam, self.ts_ns = cam, ts_ns

    def make_array(self, name: str) -> np.ndarray:
        cfg = self.cam.config[name]
        w, h = cfg["size"]
        bgr = np.zeros((h, w, 3), np.uint8)
        bgr[:, :, 2] = 200  # a red scene
        if cfg["format"] == "YUV420":
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        return bgr

    def get_metadata(self) -> dict:
        return {"SensorTimestamp": self.ts_ns, "ExposureTime": 10000}

    def release(self) -> None:
        self.cam.released += 1


class StandInPicamera2:
    def __init__(self, timestamps_ns: list[int] | None = None) -> None:
        self.timestamps = list(timestamps_ns or [FRAME_NS * i for i in range(1, 100)])
        self.config: dict = {}
        self.started = self.closed = False
        self.released = 0

    def create_video_configuration(
        self, main: dict, lores: dict, controls: dict, buffer_count: int
    ) -> dict:
        return {"main": main, "lores": lores, "controls": controls, "buffer_count": buffer_count}

    def configure(self, config: dict) -> None:
        self.config = config

    def start(self) -> None:
        self.started = True

    def capture_request(self, wait: bool | None = None) -> object:
        assert wait is False
        return object()

    def wait(self, job: object, timeout: float | None = None) -> Request:
        if not self.timestamps:
            raise TimeoutError("no frame")
        return Request(self, self.timestamps.pop(0))

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


def open_with(stand_in: StandInPicamera2, fmt: str) -> PiCamera:
    return PiCamera(15.0, (640, 480), 320, lores_format=fmt, picamera2_cls=lambda: stand_in)


@pytest.mark.parametrize("fmt", ["YUV420", "RGB888"])
def test_frames_carry_sensor_time_and_both_streams(fmt: str) -> None:
    cam = StandInPicamera2()
    pi = open_with(cam, fmt)
    assert cam.config["controls"]["FrameDurationLimits"] == (66667, 66667)
    assert cam.config["lores"] == {"size": (320, 240), "format": fmt}
    frames = pi.frames()
    first, second = next(frames), next(frames)
    assert (first.ts_ns, second.ts_ns) == (FRAME_NS, 2 * FRAME_NS)
    assert first.main_bgr.shape == (480, 640, 3) and first.lores_bgr.shape == (240, 320, 3)
    assert first.lores_bgr[..., 2].mean() > 150 > first.lores_bgr[..., 0].mean()  # still red
    assert cam.released == 2
    pi.close()
    assert cam.closed


def test_gaps_in_sensor_time_count_as_dropped_frames() -> None:
    cam = StandInPicamera2([FRAME_NS, 2 * FRAME_NS, 5 * FRAME_NS, 6 * FRAME_NS])
    pi = open_with(cam, "RGB888")
    frames = pi.frames()
    indices = [next(frames).index for _ in range(4)]
    assert indices == [0, 1, 4, 5]
    assert pi.stats.dropped == 2 and pi.stats.delivered == 4


def test_camera_that_stops_is_a_clear_error() -> None:
    cam = StandInPicamera2([FRAME_NS])
    pi = open_with(cam, "RGB888")
    frames = pi.frames()
    next(frames)
    with pytest.raises(CameraStalled, match="no frame from the Pi camera"):
        next(frames)


def test_missing_camera_is_a_camera_error() -> None:
    def no_camera() -> StandInPicamera2:
        raise IndexError("list index out of range")  # what picamera2 raises with no camera

    with pytest.raises(CameraError, match="cannot start the Pi camera"):
        PiCamera(picamera2_cls=no_camera, lores_format="YUV420")


def test_lores_format_follows_the_board(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_text("Raspberry Pi 5 Model B Rev 1.0\x00")
    assert pi_lores_format(model) == "RGB888"
    model.write_text("Raspberry Pi 4 Model B Rev 1.5\x00")
    assert pi_lores_format(model) == "YUV420"


@pytest.mark.pi
@pytest.mark.skipif(
    not os.path.exists("/dev/video0") or os.uname().machine != "aarch64",
    reason="needs a Raspberry Pi with its camera attached",
)
def test_real_pi_camera_delivers_timestamped_frames() -> None:
    pi = PiCamera(15.0, (1280, 960), 320)
    try:
        frames = pi.frames()
        got = [next(frames) for _ in range(30)]
    finally:
        pi.close()
    gaps_ns = np.diff([f.ts_ns for f in got])
    assert np.median(gaps_ns) == pytest.approx(1e9 / 15, rel=0.05)
    assert got[0].lores_bgr.shape[1] == 320
