"""The Raspberry Pi camera through picamera2 (imported only here, only on the Pi).

Two streams from one sensor readout: ``main`` at full resolution (RGB888, which picamera2 lays
out as B,G,R bytes, i.e. OpenCV's BGR) for recognition crops, and ``lores`` about 320 wide for
detection: YUV420 on a Pi 4 (its ISP cannot emit RGB on the lores stream), RGB888 on a Pi 5.
Lores width is rounded to a multiple of 64 so the YUV420 planes carry no stride padding.

The frame rate is pinned with ``FrameDurationLimits`` (min = max). Each frame's time is the
request metadata's ``SensorTimestamp`` (ns, start of readout), not the time we got round to it.
picamera2 keeps at most one completed request waiting, so a slow loop always gets the newest
frame; gaps in the sensor timestamps larger than one frame duration are counted as dropped.
Every request is released back to the camera as soon as its arrays are copied out.

A camera that delivers nothing for ``stall_timeout_s`` raises ``CameraStalled``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from firmware.camera.frames import Frame, SourceStats, lores_size
from firmware.errors import CameraError, CameraStalled

LoresFormat = Literal["YUV420", "RGB888"]


def pi_lores_format(model_path: Path = Path("/proc/device-tree/model")) -> LoresFormat:
    """YUV420 on a Pi 4 and older (VC4 ISP); RGB888 on a Pi 5 (PiSP)."""
    try:
        model = model_path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return "YUV420"  # the format every Pi supports
    return "RGB888" if "Raspberry Pi 5" in model else "YUV420"


class PiCamera:
    def __init__(
        self,
        fps: float = 15.0,
        main_size: tuple[int, int] = (1280, 960),
        lores_width: int = 320,
        stall_timeout_s: float = 2.0,
        lores_format: LoresFormat | None = None,
        picamera2_cls: Any = None,
    ) -> None:
        if picamera2_cls is None:
            try:
                from picamera2 import Picamera2  # only present on a Pi (python3-picamera2)
            except ImportError as e:
                raise CameraError("picamera2 is not installed: this is not a Raspberry Pi") from e
            picamera2_cls = Picamera2
        self.stats = SourceStats()
        self._frame_us = round(1e6 / fps)
        self._stall_timeout_s = stall_timeout_s
        self._lores_format: LoresFormat = lores_format or pi_lores_format()
        lw, lh = lores_size(main_size, max(64, lores_width // 64 * 64))
        self._lores_wh = (lw, lh)
        try:
            self._cam = picamera2_cls()
            config = self._cam.create_video_configuration(
                main={"size": tuple(main_size), "format": "RGB888"},
                lores={"size": (lw, lh), "format": self._lores_format},
                controls={"FrameDurationLimits": (self._frame_us, self._frame_us)},
                buffer_count=4,
            )
            self._cam.configure(config)
            self._cam.start()
        except (RuntimeError, OSError, IndexError) as e:
            # picamera2 raises IndexError when no camera is attached, RuntimeError when busy.
            raise CameraError(f"cannot start the Pi camera: {e}") from e

    def _lores_bgr(self, arr: np.ndarray) -> np.ndarray:
        if self._lores_format == "YUV420":
            return cv2.cvtColor(arr, cv2.COLOR_YUV2BGR_I420)
        return np.ascontiguousarray(arr[:, :, :3])

    def frames(self) -> Iterator[Frame]:
        index = 0
        last_ts_ns: int | None = None
        while True:
            job = self._cam.capture_request(wait=False)
            try:
                request = self._cam.wait(job, timeout=self._stall_timeout_s)
            except TimeoutError as e:
                raise CameraStalled(
                    f"no frame from the Pi camera for {self._stall_timeout_s} s"
                ) from e
            try:
                ts_ns = int(request.get_metadata()["SensorTimestamp"])
                main = request.make_array("main")[:, :, :3].copy()
                lores = self._lores_bgr(request.make_array("lores"))
            finally:
                request.release()  # the buffer goes back to the camera whatever happened
            if last_ts_ns is not None:
                gap = round((ts_ns - last_ts_ns) / (self._frame_us * 1000)) - 1
                if gap > 0:
                    self.stats.dropped += gap
                    index += gap
            last_ts_ns = ts_ns
            self.stats.delivered += 1
            yield Frame(index=index, ts_ns=ts_ns, lores_bgr=lores, main_bgr=main)
            index += 1

    def close(self) -> None:
        self._cam.stop()
        self._cam.close()
