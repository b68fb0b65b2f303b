"""Cut-outs of all 81 products (white-on-white ones included) and feed previews."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from host.sim import cached_feed
from host.sim.cutouts import load_cutouts
from host.sim.errors import SimError
from host.sim.preview import preview
from smartcart.catalog import default_catalog


def test_every_product_has_a_soft_cutout() -> None:
    cutouts = load_cutouts()
    assert set(cutouts) == set(default_catalog())
    for sku, cut in cutouts.items():
        alpha = cut.bgra[..., 3]
        h, w = alpha.shape
        assert min(h, w) > 20, sku
        assert np.mean(alpha > 127) > 0.15, sku  # a leek lies diagonally: thin but there
        # Soft edge: some alpha between fully clear and fully opaque.
        assert np.count_nonzero((alpha > 10) & (alpha < 245)) > 0, sku


@pytest.mark.parametrize("sku", ["arla-standard-milk", "arla-ecological-sour-cream", "garlic",
                                 "alpro-vanilla-soyghurt", "arla-natural-yoghurt"])  # fmt: skip
def test_white_products_stay_solid(sku: str) -> None:
    """White cartons and garlic on a white background: the mask must not leak into them."""
    alpha = load_cutouts()[sku].bgra[..., 3]
    opaque = (alpha > 127).astype(np.uint8)
    hull = cv2.convexHull(cv2.findNonZero(opaque))
    hull_area = cv2.contourArea(hull)
    assert np.count_nonzero(opaque) > 0.9 * hull_area


@pytest.fixture(scope="module")
def feed_dir() -> Path:
    return cached_feed(21, duration_s=14.0, events=2, distractors=0, size_px=(320, 240))


def test_contact_sheet(feed_dir: Path, tmp_path: Path) -> None:
    out = preview(feed_dir, tmp_path / "sheet.png")
    sheet = cv2.imread(str(out))
    # start, two events, end: one row of four 320x240 tiles, and the scale strip.
    assert sheet.shape == (240 + 120, 4 * 320, 3)


def test_gif(feed_dir: Path, tmp_path: Path) -> None:
    out = preview(feed_dir, tmp_path / "clip.gif", fps=2, seconds=5)
    ok, frames = cv2.imreadmulti(str(out))
    assert ok and 9 <= len(frames) <= 12


def test_unknown_preview_format(feed_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SimError, match=".png"):
        preview(feed_dir, tmp_path / "clip.mp4")
