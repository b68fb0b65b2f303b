"""Replay a cartfeed/1 feed's video as frames, timed by ``frames.csv`` (or ``i / meta.fps``).

``realtime=False`` (replay, bench) decodes as fast as the CPU allows; ``realtime=True`` paces
frames at their recorded times, as a live camera would, dropping frames the consumer is too slow
for instead of falling behind (the same "always the newest frame" rule as the Pi camera).

A video that ends before ``frames.csv`` says it should, or a frame that fails to decode, is a
``CameraError`` naming the feed and frame, unless ``tolerate_truncation`` lets the replay end
early with the frames it got (counted in ``stats.bad``).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from firmware.camera.frames import Frame, SourceStats, lores_size
from firmware.errors import CameraError, FeedError


@dataclass(frozen=True, slots=True)
class FeedMeta:
    cart_id: str
    fps: float
    width: int
    height: int
    basket_polygon: tuple[tuple[float, float], ...]
    source: str


def read_meta(feed: Path) -> FeedMeta:
    try:
        raw = json.loads((feed / "meta.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise FeedError(f"{feed}: unreadable meta.json: {e}") from e
    if raw.get("format") != "cartfeed/1":
        raise FeedError(f"{feed}: format {raw.get('format')!r}, expected 'cartfeed/1'")
    try:
        return FeedMeta(
            cart_id=str(raw["cart_id"]),
            fps=float(raw["fps"]),
            width=int(raw["width"]),
            height=int(raw["height"]),
            basket_polygon=tuple((float(x), float(y)) for x, y in raw["basket_polygon"]),
            source=str(raw.get("source", "")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise FeedError(f"{feed}: bad meta.json field: {e}") from e


def find_video(feed: Path) -> Path:
    videos = sorted(p for p in feed.glob("video.*") if p.is_file())
    if not videos:
        raise FeedError(f"{feed}: no video.* file")
    return videos[0]


def read_frame_times(feed: Path) -> list[float] | None:
    """Presentation time (s) per frame index from frames.csv, or None without one."""
    path = feed / "frames.csv"
    if not path.exists():
        return None
    times: list[float] = []
    with path.open(newline="", encoding="utf-8") as f:
        for lineno, row in enumerate(csv.DictReader(f), start=2):
            try:
                index, t = int(row["frame_index"]), float(row["t"])
            except (KeyError, TypeError, ValueError) as e:
                raise FeedError(f"{path}:{lineno}: {e}") from e
            if index != len(times):
                raise FeedError(f"{path}:{lineno}: frame_index {index}, expected {len(times)}")
            times.append(t)
    return times


class FeedSource:
    """Frames of a recorded feed; one pass, then it is exhausted."""

    def __init__(
        self,
        feed: Path,
        lores_width: int = 320,
        realtime: bool = False,
        tolerate_truncation: bool = False,
    ) -> None:
        self.feed = feed
        self.meta = read_meta(feed)
        self.times_s = read_frame_times(feed)
        self.stats = SourceStats()
        self._realtime = realtime
        self._tolerate = tolerate_truncation
        self._video = find_video(feed)
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
