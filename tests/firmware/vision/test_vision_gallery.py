import numpy as np
import pytest

from firmware.vision.gallery import Gallery, GalleryError
from firmware.vision.types import ModelInputError


def unit_rows(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def clustered(rng: np.random.Generator, centre: np.ndarray, n: int) -> np.ndarray:
    return unit_rows(centre + 0.1 * rng.standard_normal((n, len(centre))))


def test_enrolled_product_is_found_by_nearest_neighbour():
    rng = np.random.default_rng(0)
    centres = unit_rows(rng.standard_normal((3, 16)))
    g = Gallery.empty(16)
    for sku, c in zip(("oat-milk", "lime", "leek"), centres, strict=True):
        g = g.enrolled(sku, clustered(rng, c, 3))
    assert len(g) == 9
    for sku, c in zip(("oat-milk", "lime", "leek"), centres, strict=True):
        query = clustered(rng, c, 1)[0]
        matches = g.nearest(query, k=2)
        assert matches[0].sku == sku
        assert matches[0].similarity > matches[1].similarity


def test_enrolling_returns_a_new_gallery():
    g = Gallery.empty(4)
    g2 = g.enrolled("a", unit_rows(np.ones((2, 4))))
    assert len(g) == 0 and len(g2) == 2
    assert g2.without("a").known_skus() == frozenset()


def test_each_sku_appears_once_in_matches():
    g = Gallery.empty(2).enrolled("a", unit_rows(np.array([[1, 0], [1, 0.1]])))
    g = g.enrolled("b", unit_rows(np.array([[0, 1]])))
    assert [m.sku for m in g.nearest(np.array([1, 0], np.float32), k=5)] == ["a", "b"]


def test_refuses_unnormalised_wrong_dimension_and_empty_queries():
    g = Gallery.empty(4)
    with pytest.raises(ModelInputError, match="L2"):
        g.enrolled("a", np.ones((1, 4), np.float32))
    with pytest.raises(ModelInputError, match="dimension"):
        g.enrolled("a", unit_rows(np.ones((1, 3))))
    with pytest.raises(GalleryError, match="empty"):
        g.nearest(unit_rows(np.ones((1, 4)))[0])


def test_save_and_load_round_trip(tmp_path):
    g = Gallery.empty(3).enrolled("x", unit_rows(np.array([[1.0, 2, 3], [3, 2, 1]])))
    g.save(tmp_path / "g.npz")
    back = Gallery.load(tmp_path / "g.npz")
    assert back.skus == g.skus
    np.testing.assert_array_equal(back.embeddings, g.embeddings)
