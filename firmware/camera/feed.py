"""Replay a cartfeed/1 feed's video as frames, timed by ``frames.csv`` (or ``i / meta.fps``).

``realtime=False`` (replay, bench) decodes as fast as the CPU allows; ``realtime=True`` paces
frames at their recorded times, as a live camera would, dropping frames the consumer is too slow
for instead of falling behind (the same "always the newest frame" rule as the Pi camera).

A video that ends before ``frames.csv`` says it should, or a frame that fails to decode, is a
``CameraError`` naming the feed and frame, unless ``tolerate_truncation`` lets the replay end
early with the frames it got (counted in ``stats.bad``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from firmware.camera.frames import Frame, SourceStats, lores_size
from firmware.errors import CameraError, FeedError
from smartcart.feed import errors as feed_errors
from smartcart.feed.format import FRAMES, open_feed


class FeedSource:
    """Frames of a recorded feed; one pass, then it is exhausted."""

    def __init__(
        self,
        feed: Path,
        lores_width: int = 320,
        realtime: bool = False,
        tolerate_truncation: bool = False,
    ) -> None:
        try:
            opened = open_feed(feed)  # meta.json validated by the feed format's own reader
            times = opened.frame_times() if (feed / FRAMES).is_file() else None
        except feed_errors.FeedError as e:
            raise FeedError(str(e)) from e
        self.feed = feed
        self.meta = opened.meta
        self.times_s: list[float] | None = None if times is None else times.tolist()
        self.stats = SourceStats()
        self._realtime = realtime
        self._tolerate = tolerate_truncation
        self._video = opened.video
        self._cap = cv2.VideoCapture(str(self._video))
        if not self._cap.isOpened():
            raise CameraError(f"{self._video}: OpenCV cannot open this video")
        self._lores_wh = lores_size((self.meta.width, self.meta.height), lores_width)

    @property
    def lores_wh(self) -> tuple[int, int]:
        return self._lores_wh

    @property
    def frame_count(self) -> int:
        if self.times_s is not None:
            return len(self.times_s)
        return max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)))

    def _t_s(self, index: int) -> float:
        if self.times_s is not None:
            return self.times_s[index]
        return index / self.meta.fps

    def _truncated(self, index: int, why: str) -> None:
        self.stats.bad += 1
        if not self._tolerate:
            raise CameraError(f"{self._video}: {why} at frame {index} of {self.frame_count}")

    def frames(self) -> Iterator[Frame]:
        expected = self.frame_count
        start = time.monotonic()
        index = 0
        while self.times_s is None or index < expected:
            ok, img = self._cap.read()
            if not ok or img is None:
                if self.times_s is not None:
                    self._truncated(index, "video ended early")
                break
            if self._realtime:
                lag_s = (time.monotonic() - start) - self._t_s(index)
                if lag_s < 0:
                    time.sleep(-lag_s)
                elif lag_s > 1.0 / self.meta.fps:
                    # Too slow for real time: skip this frame as a live camera would.
                    self.stats.dropped += 1
                    index += 1
                    continue
            yield self._frame(index, img)
            index += 1

    def _frame(self, index: int, img: np.ndarray) -> Frame:
        if img.shape[1] != self.meta.width or img.shape[0] != self.meta.height:
            img = cv2.resize(img, (self.meta.width, self.meta.height))
        lores = cv2.resize(img, self._lores_wh, interpolation=cv2.INTER_AREA)
        self.stats.delivered += 1
        return Frame(
            index=index, ts_ns=round(self._t_s(index) * 1e9), lores_bgr=lores, main_bgr=img
        )

    def close(self) -> None:
        self._cap.release()
