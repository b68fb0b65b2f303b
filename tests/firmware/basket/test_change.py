"""Where the basket changed between two views: the new item, not noise, an arm or the floor."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.basket.change import changed_region

W, H = 320, 240
POLYGON = ((20.0, 20.0), (300.0, 20.0), (300.0, 220.0), (20.0, 220.0))


def basket(seed: int = 0) -> np.ndarray:
    """A grey basket floor with a wire grid and camera noise."""
    rng = np.random.default_rng(seed)
    img = np.full((H, W, 3), 90, np.uint8)
    img[::16, :] = 140
    img[:, ::16] = 140
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def with_patch(img: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    out = img.copy()
    out[y0:y1, x0:x1] = (40, 60, 200)  # a red-ish item
    return out


def test_a_new_item_is_found_where_it_lies() -> None:
    before = basket(0)
    after = with_patch(basket(1), 140, 90, 180, 130)
    box = changed_region(before, after, POLYGON)
    assert box is not None
    x0, y0, x1, y1 = box
    assert 130 <= x0 <= 141 and 80 <= y0 <= 91 and 179 <= x1 <= 190 and 129 <= y1 <= 140


def test_noise_alone_is_no_change() -> None:
    assert changed_region(basket(0), basket(1), POLYGON) is None


def test_the_largest_change_inside_wins_over_an_arm_at_the_edge() -> None:
    after = with_patch(basket(1), 60, 60, 80, 80)
    after[180:, 140:200] = (120, 150, 200)  # an arm reaching in from the bottom edge: bigger
    box = changed_region(basket(0), after, POLYGON)
    assert box is not None and 55 <= box[0] <= 61 and box[2] <= 85


def test_an_item_lying_against_the_rim_is_found_when_nothing_else_changed() -> None:
    after = with_patch(basket(1), 20, 100, 60, 140)  # across the polygon's left edge
    box = changed_region(basket(0), after, POLYGON)
    assert box is not None and box[0] <= 21 and 59 <= box[2] <= 66


def test_changes_outside_the_basket_do_not_count() -> None:
    after = with_patch(basket(1), 3, 100, 15, 140)  # beside the basket, not on the edge
    assert changed_region(basket(0), after, POLYGON) is None


def test_views_of_different_sizes_are_an_error() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        changed_region(basket(0), basket(1)[:200], POLYGON)
