"""The store head: mixing, validation, the file round trip, and refusing another model's head."""

import numpy as np
import pytest

from firmware.vision.store_head import StoreHead, StoreHeadError
from firmware.vision.types import ModelInputError

LABELS = ("apple", "pear", "milk")


def head(blend: float = 0.5, sha: str = "a" * 64) -> StoreHead:
    # Embedding axis k points at class k, strongly.
    weights = np.eye(3, 4, dtype=np.float32) * 20.0
    return StoreHead(LABELS, weights, np.zeros(3, np.float32), blend, sha)


def unit(*v: float) -> np.ndarray:
    a = np.array([v], np.float32)
    return a / np.linalg.norm(a)


def test_blend_zero_keeps_the_models_scores_and_one_takes_the_heads():
    probs = np.array([[0.7, 0.2, 0.1]], np.float32)
    emb = unit(0, 0, 1, 0)
    assert np.allclose(head(0.0).mix(probs, emb), probs)
    mixed = head(1.0).mix(probs, emb)
    assert mixed.argmax() == 2 and mixed[0, 2] > 0.99


def test_the_head_can_overrule_a_narrow_model_vote_and_rows_stay_probabilities():
    probs = np.array([[0.45, 0.40, 0.15], [0.9, 0.05, 0.05]], np.float32)
    emb = np.concatenate([unit(0, 1, 0, 0), unit(0, 1, 0, 0)])
    mixed = head(0.3).mix(probs, emb)
    assert mixed[0].argmax() == 1  # a narrow model vote: the head decides
    assert mixed[1].argmax() == 0  # a sure model keeps its answer
    assert np.allclose(mixed.sum(1), 1.0)


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "head.npz"
    head(0.7).save(path)
    back = StoreHead.load(path)
    assert back.labels == LABELS and back.blend == pytest.approx(0.7)
    assert back.recognizer_sha256 == "a" * 64
    assert np.array_equal(back.weights, head().weights)


def test_unreadable_or_incomplete_files_are_a_clear_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(StoreHeadError, match="cannot read"):
        StoreHead.load(bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, labels=np.array(LABELS))
    with pytest.raises(StoreHeadError, match="weights"):
        StoreHead.load(partial)
    with pytest.raises(StoreHeadError):
        StoreHead.load(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    ("weights", "bias", "blend", "match"),
    [
        (np.zeros((2, 4), np.float32), np.zeros(3, np.float32), 0.5, "weights"),
        (np.zeros((3, 4), np.float32), np.zeros(2, np.float32), 0.5, "bias"),
        (np.zeros((3, 4), np.float32), np.zeros(3, np.float32), 1.5, "blend"),
        (np.full((3, 4), np.nan, np.float32), np.zeros(3, np.float32), 0.5, "finite"),
    ],
)
def test_malformed_heads_are_refused(weights, bias, blend, match):
    with pytest.raises(ModelInputError, match=match):
        StoreHead(LABELS, weights, bias, blend, "a" * 64)


def test_embeddings_of_another_size_are_refused():
    with pytest.raises(ModelInputError, match="embeddings"):
        head().mix(np.full((1, 3), 1 / 3, np.float32), unit(1, 0, 0))


def test_a_head_fitted_on_another_recognizer_is_refused():
    h = head()
    h.check_fits(LABELS, 4, "a" * 64)
    with pytest.raises(StoreHeadError, match="labels"):
        h.check_fits(("apple", "milk", "pear"), 4, "a" * 64)
    with pytest.raises(StoreHeadError, match="4-d"):
        h.check_fits(LABELS, 8, "a" * 64)
    with pytest.raises(StoreHeadError, match="fit it again"):
        h.check_fits(LABELS, 4, "b" * 64)
