"""Naming an item: keep each track's best crops, vote the recognizer over them.

``CropBank`` keeps, per track, the ``k`` crops (from the full-resolution frame) with the best
quality so far: detection score times the share of the item no hand covers. Crops are copied
only when they beat the worst one kept, and a track's crops are dropped when it is forgotten, so
memory is bounded however long the cart runs. Recognition runs once per event, not per frame,
and each crop is recognized at most once: ``CropBank.recognitions`` keeps the answer with the
crop, and a crop that looks the same as one already recognized (a still item seen frame after
frame) takes that crop's answer instead of a model run of its own.

``vote`` averages the recognizer's probabilities over the crops (soft voting: one blurred crop
cannot outvote four clear ones) and returns the candidates best first.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from firmware.basket.changes import Candidate
from firmware.basket.geometry import Box


class RecognitionLike(Protocol):
    """What voting reads from ``firmware.vision.types.Recognition`` (read-only)."""

    @property
    def top(self) -> tuple[tuple[str, float], ...]: ...  # (sku, probability), best first


# Two crops of a track are the same view when their sizes agree within ``SAME_SIZE`` and their
# 16x16 thumbnails within ``SAME_THUMB`` grey levels on average. Measured on replayed feeds:
# crops of a still item in consecutive frames differ by 0.3-3 levels (JPEG and sensor noise),
# crops of an item that turned or was partly covered by 5-40. 3 rather than 2 runs about half
# the crops and changed 6 of 1,080 events on 180 replayed feeds (two wrong names righted,
# none made wrong).
SAME_SIZE = 0.03
SAME_THUMB = 3.0
THUMB_PX = 16


@dataclass(order=True, slots=True)
class _Crop:
    quality: float
    seq: int  # tie-break so arrays are never compared
    image: np.ndarray = field(compare=False)
    thumb: np.ndarray = field(compare=False)
    recognition: RecognitionLike | None = field(default=None, compare=False)

    def same_view(self, other: _Crop) -> bool:
        (h0, w0), (h1, w1) = self.image.shape[:2], other.image.shape[:2]
        if abs(h0 - h1) > SAME_SIZE * max(h0, h1) or abs(w0 - w1) > SAME_SIZE * max(w0, w1):
            return False
        return float(np.abs(self.thumb - other.thumb).mean()) <= SAME_THUMB


def _thumb(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (THUMB_PX, THUMB_PX), interpolation=cv2.INTER_AREA).astype(np.int16)


def crop_main(
    main_bgr: np.ndarray, box_lores: Box, scale_xy: tuple[float, float], pad: float = 0.08
) -> np.ndarray | None:
    """The box, mapped from the lores image to the main image and padded, as a copy."""
    sx, sy = scale_xy
    w, h = (box_lores[2] - box_lores[0]) * sx, (box_lores[3] - box_lores[1]) * sy
    x0 = int(max(0, box_lores[0] * sx - pad * w))
    y0 = int(max(0, box_lores[1] * sy - pad * h))
    x1 = int(min(main_bgr.shape[1], box_lores[2] * sx + pad * w))
    y1 = int(min(main_bgr.shape[0], box_lores[3] * sy + pad * h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return main_bgr[y0:y1, x0:x1].copy()


class CropBank:
    def __init__(self, k: int = 4) -> None:
        self.k = k
        self._crops: dict[int, list[_Crop]] = defaultdict(list)  # min-heap per track
        self._seq = 0

    def wants(self, track_id: int, quality: float) -> bool:
        heap = self._crops.get(track_id)
        return heap is None or len(heap) < self.k or quality > heap[0].quality

    def offer(self, track_id: int, quality: float, image: np.ndarray) -> None:
        if not self.wants(track_id, quality):
            return
        self._seq += 1
        heap = self._crops[track_id]
        item = _Crop(quality, self._seq, image, _thumb(image))
        if len(heap) < self.k:
            heapq.heappush(heap, item)
        else:
            heapq.heapreplace(heap, item)

    def crops(self, track_id: int) -> list[np.ndarray]:
        return [c.image for c in sorted(self._crops.get(track_id, []), reverse=True)]

    def recognitions(
        self,
        track_id: int,
        recognize: Callable[[list[np.ndarray]], Sequence[RecognitionLike]],
    ) -> list[RecognitionLike]:
        """The recognizer's answer for each of the track's crops, best first. ``recognize`` is
        called (once, with every crop that needs it) only for crops not recognized before and
        not the same view as one that was: re-running the model on the same view costs a
        model run and adds no information."""
        crops = sorted(self._crops.get(track_id, []), reverse=True)
        known = [c for c in crops if c.recognition is not None]
        todo: list[_Crop] = []
        twins: list[tuple[_Crop, _Crop]] = []
        for c in crops:
            if c.recognition is not None:
                continue
            twin = next((k for k in known if k.same_view(c)), None)
            if twin is None:
                known.append(c)
                todo.append(c)
            else:
                twins.append((c, twin))
        if todo:
            for c, rec in zip(todo, recognize([c.image for c in todo]), strict=True):
                c.recognition = rec
        for c, twin in twins:
            c.recognition = twin.recognition
        return [c.recognition for c in crops if c.recognition is not None]

    def drop(self, track_id: int) -> None:
        self._crops.pop(track_id, None)

    def keep_only(self, track_ids: set[int]) -> None:
        for tid in [t for t in self._crops if t not in track_ids]:
            del self._crops[tid]


def vote(recognitions: Sequence[RecognitionLike], top_n: int = 3) -> tuple[Candidate, ...]:
    """Mean probability per SKU over the crops' top lists, best ``top_n`` first."""
    if not recognitions:
        return ()
    totals: dict[str, float] = defaultdict(float)
    for rec in recognitions:
        for sku, p in rec.top:
            totals[sku] += float(p)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:top_n]
    return tuple(Candidate(sku, round(total / len(recognitions), 4)) for sku, total in ranked)
