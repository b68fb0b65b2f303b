"""Motion gate: skip the detector while nothing in view moves (as Frigate's motion detector).

Cheap frame differencing on a downscaled, blurred grey image against a running-average
background: ``is_moving`` is true when more than ``min_area`` of the pixels changed by more than
``threshold`` grey levels. An idle cart then spends a resize and a subtraction per frame instead
of a detector pass. The pipeline keeps detecting for ``hold_s`` after motion stops so an item
coming to rest is seen at rest (a resting item does not move, by definition).
"""

from __future__ import annotations

import cv2
import numpy as np


class MotionGate:
    def __init__(
        self,
        width: int = 96,
        threshold: int = 18,
        min_area: float = 0.002,
        alpha: float = 0.2,
    ) -> None:
        self._width = width
        self._threshold = threshold
        self._min_area = min_area
        self._alpha = alpha  # background learning rate: lighting drifts, shelves pass by
        self._background: np.ndarray | None = None
        self.changed_fraction = 0.0

    def _grey(self, frame_bgr: np.ndarray) -> np.ndarray:
        h, w = frame_bgr.shape[:2]
        size = (self._width, max(1, int(h) * self._width // int(w)))
        small = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return np.asarray(cv2.GaussianBlur(grey, (5, 5), 0), dtype=np.float32)

    def is_moving(self, frame_bgr: np.ndarray) -> bool:
        grey = self._grey(frame_bgr)
        if self._background is None:
            self._background = grey
            return True  # first frame: nothing known, look once
        diff = cv2.absdiff(grey, self._background)
        cv2.accumulateWeighted(grey, self._background, self._alpha)
        self.changed_fraction = float(np.count_nonzero(diff > self._threshold)) / diff.size
        return self.changed_fraction > self._min_area
