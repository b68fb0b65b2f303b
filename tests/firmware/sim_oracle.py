"""Oracle detections from the simulator's trip script, for testing the cart's decision logic.

Not a detector and not a measure of the product: boxes come from where the simulator *puts*
things (``host.sim.script``), with no pixels involved, and the "recognizer" is told which item
a crop shows (``paint`` fills each box with its item's key). What this exercises for real is
everything after detection: the tracker on realistic trajectories and occlusions by the hand,
the basket zone's add/remove decisions, the settle detector on the simulated load-cell trace
and fusion. The product's accuracy is measured with the real models on rendered video
(``smartcart cart replay``, ``test_feed_accuracy.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from host.sim.scene import BasketView, hand_reach_px
from host.sim.script import Trip

LORES = 0.5  # feeds are 640x480, the pipeline detects on 320x240


@dataclass(frozen=True)
class Dets:
    xyxy_px: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray


@dataclass(frozen=True)
class Rec:
    top: tuple[tuple[str, float], ...]


def _box(x: float, y: float, side: float) -> tuple[float, float, float, float]:
    h = side / 2
    return (x - h) * LORES, (y - h) * LORES, (x + h) * LORES, (y + h) * LORES


def _clip(b: tuple[float, ...], w: float, h: float) -> tuple[float, ...] | None:
    x0, y0, x1, y1 = max(b[0], 0), max(b[1], 0), min(b[2], w), min(b[3], h)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    return x0, y0, x1, y1


def _cover(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return 0.0 if w <= 0 or h <= 0 else w * h / ((a[2] - a[0]) * (a[3] - a[1]))


class OracleDetector:
    """Boxes of resting items, carried items and hands at the time of each call (``t_s``)."""

    def __init__(self, trip: Trip, size_px: tuple[int, int] = (640, 480)) -> None:
        self.trip = trip
        self.view = BasketView(size_px, trip.polygon_norm)
        self.wh = (size_px[0] * LORES, size_px[1] * LORES)
        self.rest = trip.rest_intervals()
        self.items = {i.key: i for i in trip.items}
        self.t_s = 0.0

    def paint(self) -> np.ndarray:
        """A full-resolution frame where each product's box is filled with its item key + 1
        (channel 0, later items on top), so ``OracleRecognizer`` can tell crops apart."""
        main = np.zeros((int(self.wh[1] / LORES), int(self.wh[0] / LORES), 3), np.uint8)
        for key, box in sorted(self._products(), key=lambda kb: kb[0]):
            x0, y0, x1, y1 = (int(max(v / LORES, 0)) for v in box)
            main[y0:y1, x0:x1, 0] = key + 1
        return main

    def _products(self) -> list[tuple[int, tuple[float, float, float, float]]]:
        t, out = self.t_s, []
        for key, (a, b) in self.rest.items():
            if a <= t < b:
                it = self.items[key]
                x, y = self.view.to_image(it.u, it.v)
                out.append((key, _box(x, y, 0.75 * it.length_cm * self.view.px_per_cm(it.u, it.v))))
        for act in self.trip.actions:
            k = act.at(t)
            if k is not None and act.item is not None and act.carrying(t):
                u, v = min(max(k.u, 0), 1), min(max(k.v, 0), 1)
                x, y = self.view.to_image(k.u, k.v, k.h)
                size = 0.75 * act.item.length_cm * self.view.px_per_cm(u, v, k.h)
                out.append((act.item.key, _box(x, y, size)))
        return out

    def detect(self, frame_bgr: np.ndarray) -> Dets:
        t = self.t_s
        products: list[tuple[float, ...]] = []
        hands: list[tuple[float, ...]] = []
        for key, (a, b) in self.rest.items():
            if a <= t < b:
                it = self.items[key]
                x, y = self.view.to_image(it.u, it.v)
                products.append(_box(x, y, 0.75 * it.length_cm * self.view.px_per_cm(it.u, it.v)))
        for act in self.trip.actions:
            k = act.at(t)
            if k is None:
                continue
            u, v = min(max(k.u, 0), 1), min(max(k.v, 0), 1)
            scale = self.view.px_per_cm(u, v, k.h)
            x, y = self.view.to_image(k.u, k.v, k.h)
            reach = hand_reach_px(scale)
            if act.item is not None and act.carrying(t):
                length = act.item.length_cm * scale
                products.append(_box(x, y, 0.75 * length))
                reach = hand_reach_px(scale, length)
            hx = x - math.cos(act.angle_rad) * reach * 0.6
            hy = y - math.sin(act.angle_rad) * reach * 0.6
            hands.append(_box(hx, hy, 9.0 * scale))
        rows = []
        for p in products:
            c = _clip(p, *self.wh)
            if c is None:
                continue
            covered = max((_cover(p, h) for h in hands), default=0.0)
            if covered < 0.8:  # a hand hides it: low score, then gone
                rows.append((*c, 0.9 if covered < 0.4 else 0.3, 0))
        rows += [(*c, 0.9, 1) for h in hands if (c := _clip(h, *self.wh)) is not None]
        a = np.array(rows, dtype=np.float32).reshape(-1, 6)
        return Dets(a[:, :4], a[:, 4], a[:, 5].astype(np.int64))


class OracleRecognizer:
    """Names a crop after the item whose key ``OracleDetector.paint`` wrote into most of it."""

    def __init__(self, detector: OracleDetector, confidence: float = 0.9) -> None:
        self.items = detector.items
        self.confidence = confidence

    def recognize(self, crops: list[np.ndarray]) -> list[Rec]:
        out = []
        for crop in crops:
            keys = crop[:, :, 0][crop[:, :, 0] > 0]
            if len(keys) == 0:
                continue
            item = self.items[int(np.bincount(keys).argmax()) - 1]
            out.append(Rec(((item.sku, self.confidence),)))
        return out
