"""A USB camera through OpenCV's ``VideoCapture`` (for carts without a Pi camera, and dev boxes).

A grabber thread keeps only the newest frame (OpenCV's own driver queue would otherwise hand
out stale frames to a slow loop); frames taken over before the loop read them count as dropped.
Timestamps are ``time.monotonic_ns()`` at grab: USB cameras expose no sensor clock via OpenCV.
A camera that delivers nothing for ``stall_timeout_s`` raises ``CameraStalled``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np

from firmware.camera.frames import Frame, SourceStats, lores_size
from firmware.errors import CameraError, CameraStalled


class OpenCVCamera:
    def __init__(
        self,
        device: int | str = 0,
        fps: float = 15.0,
        main_size: tuple[int, int] = (1280, 960),
        lores_width: int = 320,
        stall_timeout_s: float = 2.0,
    ) -> None:
        self.stats = SourceStats()
        self._cap = cv2.VideoCapture(device)
        if not self._cap.isOpened():
            raise CameraError(f"OpenCV cannot open camera {device!r}")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, main_size[0])
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, main_size[1])
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        self._lores_width = lores_width
        self._stall_timeout_s = stall_timeout_s
        self._cond = threading.Condition()
        self._latest: tuple[int, np.ndarray] | None = None
        self._taken = True
        self._stop = False
        self._thread = threading.Thread(target=self._grab, name="opencv-grab", daemon=True)
        self._thread.start()

    def _grab(self) -> None:
        while not self._stop:
            ok, img = self._cap.read()
            ts_ns = time.monotonic_ns()
            if not ok or img is None:
                # A read failure is how an unplugged camera shows: let frames() time out.
                time.sleep(0.05)
                continue
            with self._cond:
                if not self._taken:
                    self.stats.dropped += 1
                self._latest, self._taken = (ts_ns, img), False
                self._cond.notify()

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            with self._cond:
                got = self._cond.wait_for(lambda: not self._taken, self._stall_timeout_s)
                if not got or self._latest is None:
                    raise CameraStalled(f"no frame from the camera for {self._stall_timeout_s} s")
                ts_ns, img = self._latest
                self._taken = True
            lores_wh = lores_size((img.shape[1], img.shape[0]), self._lores_width)
            lores = cv2.resize(img, lores_wh, interpolation=cv2.INTER_AREA)
            self.stats.delivered += 1
            yield Frame(index=index, ts_ns=ts_ns, lores_bgr=lores, main_bgr=img)
            index += 1

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2.0)
        self._cap.release()
