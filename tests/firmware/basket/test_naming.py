"""Crop bank keeps the best crops per track; voting averages the recognizer over them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.basket.naming import CropBank, crop_main, vote


@dataclass(frozen=True)
class Rec:
    top: tuple[tuple[str, float], ...]


def img(value: int) -> np.ndarray:
    return np.full((8, 8, 3), value, np.uint8)


def test_bank_keeps_the_k_best_and_forgets_dropped_tracks() -> None:
    bank = CropBank(k=2)
    for q in (0.3, 0.9, 0.5, 0.1):
        bank.offer(1, q, img(int(q * 100)))
    assert [int(c[0, 0, 0]) for c in bank.crops(1)] == [90, 50]
    bank.keep_only(set())
    assert bank.crops(1) == []


class CountingRecognizer:
    """Names a crop by its mean grey level; remembers which crops it was asked about."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def recognize(self, crops: list[np.ndarray]) -> list[Rec]:
        self.asked += [int(c.mean()) for c in crops]
        return [Rec(((f"sku-{int(c.mean())}", 0.9),)) for c in crops]


def noisy(value: int, seed: int, size: int = 32) -> np.ndarray:
    """A crop of one still item: the same picture with a little sensor noise."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(-2, 3, (size, size, 3))
    return np.clip(np.full((size, size, 3), value) + noise, 0, 255).astype(np.uint8)


def test_bank_recognizes_each_crop_once() -> None:
    bank, rec = CropBank(k=2), CountingRecognizer()
    bank.offer(1, 0.5, img(10))
    bank.offer(1, 0.6, img(200))
    first = bank.recognitions(1, rec.recognize)
    assert [r.top[0][0] for r in first] == ["sku-200", "sku-10"]
    assert bank.recognitions(1, rec.recognize) == first  # nothing new: no model run
    bank.offer(1, 0.7, img(120))  # pushes out img(10)
    assert [r.top[0][0] for r in bank.recognitions(1, rec.recognize)] == ["sku-120", "sku-200"]
    assert rec.asked == [200, 10, 120]


def test_a_crop_of_the_same_view_takes_the_answer_of_the_one_recognized() -> None:
    bank, rec = CropBank(k=5), CountingRecognizer()
    for i in range(3):  # a still item, three frames: the same view
        bank.offer(1, 0.5 + i / 10, noisy(100, seed=i))
    bank.offer(1, 0.4, noisy(160, seed=9))  # the item turned: another view
    bank.offer(1, 0.3, noisy(100, seed=7, size=40))  # nearer the camera: another view
    answers = bank.recognitions(1, rec.recognize)
    assert rec.asked == [100, 160, 100]  # the still frames once, each other view once
    assert [r.top[0][0] for r in answers] == ["sku-100"] * 3 + ["sku-160", "sku-100"]
    assert [c.sku for c in vote(answers)] == ["sku-100", "sku-160"]
    assert vote(answers)[0].score == 0.72  # each crop still counts once: 4 of 5 at 0.9


def test_soft_vote_lets_clear_crops_outvote_a_blurred_one() -> None:
    recs = [Rec((("lemon", 0.8), ("lime", 0.1)))] * 3 + [Rec((("lime", 0.95),))]
    cands = vote(recs)
    assert [c.sku for c in cands] == ["lemon", "lime"]
    assert cands[0].score == 0.6


def test_crop_maps_lores_box_to_main_frame() -> None:
    main = np.arange(40 * 40 * 3, dtype=np.uint8).reshape(40, 40, 3)
    crop = crop_main(main, (2.0, 2.0, 6.0, 6.0), (4.0, 4.0), pad=0.0)
    assert crop is not None and crop.shape == (16, 16, 3)
    assert np.array_equal(crop, main[8:24, 8:24])
