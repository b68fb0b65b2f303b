"""The committed models through the cart's wrappers: real photos, real embeddings, real frames."""

from collections import defaultdict

import cv2
import numpy as np
import pytest

from firmware.vision.detector import Detector
from firmware.vision.gallery import Gallery
from firmware.vision.recognizer import Recognizer
from firmware.vision.types import DetectionClass
from models import manifest
from smartcart.catalog import default_catalog
from smartcart.dataset import DatasetError


def recognizer() -> Recognizer:
    entry = manifest.entry("recognizer")
    return Recognizer(manifest.load("recognizer"), entry.labels)


@pytest.fixture(scope="module")
def photos():
    from models import grocery

    try:
        grocery.classes()
    except DatasetError as e:
        pytest.skip(f"the Grocery Store Dataset is not available: {e}")
    return grocery


def read(sample) -> np.ndarray:
    image = cv2.imread(str(sample.path))
    assert image is not None, sample.path
    return image


def test_recognizer_labels_are_the_catalog_order():
    assert manifest.entry("recognizer").labels == tuple(
        p.sku for p in default_catalog().by_class_id()
    )


def test_recognizer_names_real_test_photos(photos):
    rec = recognizer()
    test = photos.split("test")[::100]  # 25 photos across the classes
    results = rec.recognize([read(s) for s in test])
    skus = [p.sku for p in default_catalog().by_class_id()]
    correct = sum(r.sku == skus[s.fine_id] for r, s in zip(results, test, strict=True))
    assert correct >= 0.7 * len(test)
    assert all(len(r.top) == 5 and abs(np.linalg.norm(r.embedding) - 1) < 1e-3 for r in results)


def test_enrolled_gallery_names_unseen_photos_by_nearest_neighbour(photos):
    """Enrol 6 products from 3 training photos each; name their test photos without logits."""
    rec = recognizer()
    by_class = defaultdict(list)
    for s in photos.split("train"):
        by_class[s.fine_id].append(s)
    chosen = sorted(by_class)[::14][:6]
    gallery = Gallery.empty(manifest.entry("recognizer").outputs["embedding"][1])
    for c in chosen:
        shots = rec.recognize([read(s) for s in by_class[c][:3]])
        gallery = gallery.enrolled(f"new-{c}", np.stack([r.embedding for r in shots]))
    queries = [s for s in photos.split("test") if s.fine_id in chosen][::4]
    found = rec.recognize([read(s) for s in queries])
    hits = sum(
        gallery.nearest(r.embedding, k=1)[0].sku == f"new-{s.fine_id}"
        for r, s in zip(found, queries, strict=True)
    )
    assert hits >= 0.7 * len(queries)


def test_detector_finds_products_in_a_rendered_frame():
    trainset = pytest.importorskip("host.sim.trainset")
    from host.sim.cutouts import load_cutouts

    sample = trainset.render_sample(
        np.random.default_rng([4242, 0]), load_cutouts(), default_catalog(), (640, 480)
    )
    det = Detector(manifest.load("detector"))
    found = det.detect(sample.bgr)
    products = [b for b in sample.boxes if b.cls == DetectionClass.PRODUCT]
    assert found.xyxy_px.max(initial=0) <= 640
    if products:
        assert len(found.of_class(DetectionClass.PRODUCT)) >= 1
