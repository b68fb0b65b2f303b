"""Open the frame source a cart config names (picamera2 on the Pi, else an OpenCV device)."""

from __future__ import annotations

from firmware.camera.frames import FrameSource
from firmware.config import CameraConfig


def open_camera(cfg: CameraConfig) -> FrameSource:
    if cfg.type == "picamera2":
        from firmware.camera.picam import PiCamera

        return PiCamera(cfg.fps, cfg.main_size, cfg.lores_width, cfg.stall_timeout_s)
    from firmware.camera.opencv_device import OpenCVCamera

    return OpenCVCamera(cfg.device, cfg.fps, cfg.main_size, cfg.lores_width, cfg.stall_timeout_s)
