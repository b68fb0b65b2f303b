"""Recognizer crops from rendered scenes: labelled with the product they show, reproducible."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from host.sim.crops import MIN_SIDE_PX, generate, scene_crops
from host.sim.cutouts import load_cutouts
from host.sim.trainset import PRODUCT, render_sample
from smartcart.catalog import default_catalog
from smartcart.crops import read_labels


@pytest.fixture(scope="module")
def crops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crops")
    generate(out, 6, seed=11, size_px=(320, 240), progress=False)
    return out


def test_every_crop_is_labelled_with_a_catalog_product(crops: Path) -> None:
    rows = read_labels(crops)
    assert rows, "six scenes yield some crops"
    catalog = default_catalog()
    for path, sku in rows:
        image = cv2.imread(str(path))
        assert image is not None and min(image.shape[:2]) >= MIN_SIDE_PX * 0.8
        assert sku in catalog
    assert len(rows) == len(list((crops / "images").glob("*.jpg")))


def test_crop_skus_are_the_scene_products() -> None:
    """The labels name products actually drawn in that scene (the truth, not a guess)."""
    cutouts, catalog = load_cutouts(), default_catalog()
    for i in range(4):
        drawn = {
            b.sku for b in render_sample(np.random.default_rng([11, i]), cutouts, catalog,
                                         (320, 240)).boxes if b.cls == PRODUCT
        }  # fmt: skip
        assert {sku for _, sku in scene_crops(11, i, (320, 240))} <= drawn


def test_same_seed_same_crops(crops: Path, tmp_path: Path) -> None:
    generate(tmp_path, 6, seed=11, size_px=(320, 240), workers=2, progress=False)
    assert (tmp_path / "labels.csv").read_bytes() == (crops / "labels.csv").read_bytes()
    for path, _ in read_labels(crops):
        assert (tmp_path / "images" / path.name).read_bytes() == path.read_bytes()
