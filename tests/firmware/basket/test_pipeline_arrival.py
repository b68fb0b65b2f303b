"""An item carried in under the hand, whose track the tracker loses as the hand presses it down:
its crops from the way in still name it when the scale feels it land (429746)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from firmware.basket.changes import BasketChange
from firmware.camera import Frame
from firmware.pipeline import CartPipeline
from firmware.scale import ScaleSample
from firmware.vision.types import Detections
from smartcart.catalog import default_catalog

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
YOGHURT = (("yoggi-strawberry-yoghurt", 0.9), ("arla-sour-milk", 0.05))  # 1,000 g nominal
FPS = 15


@dataclass(frozen=True)
class Rec:
    top: tuple[tuple[str, float], ...]


class Recognizer:
    def recognize(self, crops: list[np.ndarray]) -> list[Rec]:
        return [Rec(YOGHURT) for _ in crops]


class Detector:
    """The carton first boxed over the basket (the hand hid it until then), carried 40 px to
    the right until 1.3 s, then lost under the hand pressing it down."""

    t_s = 0.0

    def detect(self, lores_bgr: np.ndarray) -> Detections:
        boxes, classes = [], []
        if 0.5 <= self.t_s < 1.3:
            x = 120 + 50 * (self.t_s - 0.5)
            boxes.append((x, 100, x + 40, 150))
            classes.append(0)
        if 0.4 <= self.t_s < 2.2:  # the hand, beside the carton
            boxes.append((175, 60, 235, 120))
            classes.append(1)
        return Detections(
            np.asarray(boxes, np.float32).reshape(-1, 4),
            np.full(len(boxes), 0.9, np.float32),
            np.asarray(classes, np.int64),
        )


def load_g(t_s: float) -> float:
    """Empty, then the carton pressed down from 1.4 s and let go at 1.8 s (1,010 g)."""
    if t_s < 1.4:
        return 0.0
    return 1110.0 if t_s < 1.8 else 1010.0


def test_an_arrival_lost_under_the_hand_is_named_by_its_crops_from_the_way_in() -> None:
    det = Detector()
    pipe = CartPipeline(
        det, Recognizer(), default_catalog(), ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)),
        (320, 240), (640, 480), T0, motion_gate=False,
    )  # fmt: skip
    lores, main = np.zeros((240, 320, 3), np.uint8), np.full((480, 640, 3), 90, np.uint8)
    changes: list[tuple[float, BasketChange]] = []
    samples = [ScaleSample(k / 10, load_g(k / 10)) for k in range(40)]
    for i in range(int(3.0 * FPS)):
        t_s = det.t_s = i / FPS
        now = [s for s in samples if t_s - 1 / FPS < s.t_s <= t_s]
        frame = Frame(i, round(t_s * 1e9), lores, main)
        changes += [(t_s, c) for c in pipe.process(frame, now)]
    [(decided_s, change)] = changes
    assert (change.type, change.sku, change.grams) == ("add", "yoggi-strawberry-yoghurt", 1010)
    assert decided_s < 2.3  # from the landing, not the scale's own event once the hands are gone


class ShadeRecognizer:
    """Crops taken before 1.7 s (grey 90) show a juice, later ones (grey 200) the yoghurt."""

    def recognize(self, crops: list[np.ndarray]) -> list[Rec]:
        juice = (("god-morgon-orange-juice", 0.6), ("yoggi-strawberry-yoghurt", 0.3))
        return [Rec(YOGHURT if c.mean() > 150 else juice) for c in crops]


class ReturningDetector(Detector):
    """As ``Detector``, but the carton is found again where it was lost, from 1.7 s."""

    def detect(self, lores_bgr: np.ndarray) -> Detections:
        dets = super().detect(lores_bgr)
        if self.t_s < 1.7:
            return dets
        return Detections(
            np.vstack([dets.xyxy_px, np.float32([[160, 100, 200, 150]])]),
            np.append(dets.scores, np.float32(0.6)),
            np.append(dets.class_ids, np.int64(0)),
        )


def test_an_arrival_found_again_is_named_by_what_its_track_shows_since() -> None:
    """Its crops from before it was lost go once the track is seen again: they may show the
    hand or the item beside it (429406: a pepper's old crops named it a juice carton, unsure,
    0.9 s longer)."""
    det = ReturningDetector()
    pipe = CartPipeline(
        det, ShadeRecognizer(), default_catalog(),
        ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)), (320, 240), (640, 480), T0,
        motion_gate=False,
    )  # fmt: skip
    lores = np.zeros((240, 320, 3), np.uint8)
    changes: list[BasketChange] = []
    samples = [ScaleSample(k / 10, load_g(k / 10)) for k in range(40)]
    for i in range(int(3.0 * FPS)):
        t_s = det.t_s = i / FPS
        main = np.full((480, 640, 3), 200 if t_s >= 1.7 else 90, np.uint8)
        now = [s for s in samples if t_s - 1 / FPS < s.t_s <= t_s]
        changes += pipe.process(Frame(i, round(t_s * 1e9), lores, main), now)
    [change] = changes
    assert (change.type, change.sku) == ("add", "yoggi-strawberry-yoghurt")
    assert change.track_id is not None
    assert [round(c.mean()) for c in pipe.named_crops(change.track_id)] == [200] * 4
