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


def test_bank_key_changes_exactly_when_a_tracks_crops_do() -> None:
    bank = CropBank(k=2)
    bank.offer(1, 0.5, img(1))
    bank.offer(1, 0.6, img(2))
    key = bank.key(1)
    bank.offer(1, 0.1, img(3))  # not among the best two: kept out
    bank.offer(2, 0.9, img(4))  # another track's
    assert bank.key(1) == key
    bank.offer(1, 0.7, img(5))
    assert bank.key(1) != key
    bank.drop(1)
    assert bank.key(1) == ()


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
