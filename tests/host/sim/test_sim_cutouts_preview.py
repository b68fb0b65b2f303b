"""Cut-outs of all 81 products (white-on-white ones included) and feed previews."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import cv2
import numpy as np
import pytest

from host.sim import cached_feed
from host.sim.cutouts import iconic_paths, load_cutouts
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


def _make_banana_cutouts(cached: str) -> int:
    """Make the banana's cut-out 20 times over, as if each time were the first."""
    from host.sim.cutouts import _load_or_make

    made = 0
    for _ in range(20):
        Path(cached).unlink(missing_ok=True)
        cut = _load_or_make("banana", iconic_paths()["banana"], Path(cached), convex=False)
        made += cut.bgra.shape[2] == 4
    return made


def test_processes_making_one_cutout_at_once_all_succeed(tmp_path: Path) -> None:
    """Two feed renderers starting together used to share one temporary file and the loser's
    rename failed (FileNotFoundError): each process now writes a file of its own."""
    cached = tmp_path / "banana.png"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        made = pool.map(_make_banana_cutouts, [str(cached)] * 4)
    assert made == [20] * 4
    assert cv2.imread(str(cached), cv2.IMREAD_UNCHANGED).shape[2] == 4
    assert list(tmp_path.iterdir()) == [cached]  # no temporary file left behind
