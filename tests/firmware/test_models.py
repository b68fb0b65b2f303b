"""Opening the committed models: the manifest's store head goes with the manifest's recognizer."""

import numpy as np
import pytest

from firmware.models import open_models
from firmware.vision.store_head import StoreHead, StoreHeadError
from models import manifest
from smartcart.catalog import default_catalog


def shipped_head() -> StoreHead:
    return StoreHead.load(manifest.load("store-head", "fp32"))


def test_the_manifests_recognizer_gets_the_manifests_head_unless_turned_off():
    _, rec = open_models(default_catalog())
    assert rec.head is not None
    assert rec.head.recognizer_sha256 == manifest.entry("recognizer").sha256["fp32"]
    _, plain = open_models(default_catalog(), use_store_head=False)
    assert plain.head is None


def test_the_head_changes_what_recognize_returns_and_run_stays_raw():
    _, rec = open_models(default_catalog())
    crop = np.random.default_rng(0).integers(0, 255, (90, 70, 3), dtype=np.uint8)
    _, plain = open_models(default_catalog(), use_store_head=False)
    mixed, alone = rec.recognize([crop])[0], plain.recognize([crop])[0]
    assert mixed.top != alone.top
    assert np.allclose(mixed.embedding, alone.embedding, atol=1e-5)


def test_a_head_for_another_recognizer_is_refused(tmp_path):
    h = shipped_head()
    other = StoreHead(h.labels, h.weights, h.bias, h.blend, "0" * 64)
    path = tmp_path / "other.npz"
    other.save(path)
    with pytest.raises(StoreHeadError, match="fit it again"):
        open_models(default_catalog(), store_head=path)


def test_a_custom_recognizer_does_not_take_the_manifests_head():
    _, rec = open_models(default_catalog(), recognizer_path=manifest.load("recognizer", "fp32"))
    assert rec.head is None
