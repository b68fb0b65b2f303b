"""Training data: YOLO layout, boxes that fit the visible objects, and reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from host.sim.cutouts import load_cutouts
from host.sim.trainset import HAND, MIN_VISIBLE, PRODUCT, generate, render_sample
from smartcart.catalog import default_catalog


@pytest.fixture(scope="module")
def trainset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trainset")
    generate(out, 20, seed=5, size_px=(320, 240), progress=False)
    return out


def test_layout_and_label_lines(trainset: Path) -> None:
    config = yaml.safe_load((trainset / "data.yaml").read_text())
    assert config["names"] == {PRODUCT: "product", HAND: "hand"}
    assert len(list((trainset / "images" / "train").glob("*.jpg"))) == 18
    assert len(list((trainset / "images" / "val").glob("*.jpg"))) == 2
    classes = set()
    for label in (trainset / "labels").rglob("*.txt"):
        assert (trainset / "images" / label.parent.name / f"{label.stem}.jpg").is_file()
        for line in label.read_text().splitlines():
            cls, *box = line.split()
            classes.add(int(cls))
            cx, cy, w, h = map(float, box)
            assert 0 < w <= 1 and 0 < h <= 1
            assert cx - w / 2 + 1e-6 >= 0 and cx + w / 2 <= 1 + 1e-6
            assert cy - h / 2 + 1e-6 >= 0 and cy + h / 2 <= 1 + 1e-6
    assert classes == {PRODUCT, HAND}


def test_same_seed_same_bytes(trainset: Path, tmp_path: Path) -> None:
    generate(tmp_path, 3, seed=5, size_px=(320, 240), progress=False)
    for rel in ("images/train/000000.jpg", "labels/train/000001.txt", "images/train/000002.jpg"):
        assert (tmp_path / rel).read_bytes() == (trainset / rel).read_bytes()


def test_boxes_are_visible_parts() -> None:
    cutouts, catalog = load_cutouts(), default_catalog()
    for i in range(6):
        sample = render_sample(np.random.default_rng([9, i]), cutouts, catalog, (320, 240))
        for box in sample.boxes:
            x0, y0, x1, y1 = box.xyxy_px
            assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240
            assert MIN_VISIBLE <= box.visible <= 1.0


def test_workers_write_the_same_files(trainset: Path, tmp_path: Path) -> None:
    generate(tmp_path, 20, seed=5, size_px=(320, 240), workers=2, progress=False)
    for path in sorted(trainset.rglob("*.*")):
        if path.name != "data.yaml":
            assert (tmp_path / path.relative_to(trainset)).read_bytes() == path.read_bytes(), path


def test_box_is_the_visible_part_and_hidden_objects_are_dropped() -> None:
    from host.sim.trainset import _visible_boxes

    labels = np.zeros((100, 100), np.uint8)
    labels[10:30, 10:60] = 1  # a 20x50 product...
    labels[10:30, 40:60] = 3  # ...whose right part a hand covers
    labels[70:75, 70:75] = 2  # 25 px of a 100 px product: 75% hidden
    objects = {1: (PRODUCT, 1000, "A"), 2: (PRODUCT, 100, "B"), 3: (HAND, 400, None)}
    boxes = {b.cls: b for b in _visible_boxes(labels, objects)}
    assert set(boxes) == {PRODUCT, HAND}
    assert boxes[PRODUCT].xyxy_px == (10, 10, 40, 30)
    assert boxes[PRODUCT].visible == pytest.approx(0.6)
    assert boxes[PRODUCT].sku == "A" and boxes[HAND].sku is None
    assert boxes[HAND].xyxy_px == (40, 10, 60, 30)
