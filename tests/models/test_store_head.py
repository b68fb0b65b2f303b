"""Fitting a store head: the linear fit learns, the blend is chosen on held-out crops."""

import numpy as np
import pytest

from firmware.vision.store_head import StoreHead
from models.store_head import choose_blend, fit_linear


def clusters(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings around 3 class centres in 16-d, the recognizer's kind of output."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(size=(3, 16))
    y = rng.integers(0, 3, n)
    x = centres[y] + rng.normal(scale=0.8, size=(n, 16))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y


def test_the_linear_fit_names_held_out_embeddings():
    pytest.importorskip("torch", reason="fitting needs the train extra")
    x, y = clusters(600, seed=1)
    weights, bias = fit_linear(x, y, 3, steps=200)
    head = StoreHead(("a", "b", "c"), weights, bias, 1.0, "0" * 64)
    xv, yv = clusters(300, seed=2)
    probs = head.mix(np.full((300, 3), 1 / 3, np.float32), xv)
    assert (probs.argmax(1) == yv).mean() > 0.95


def test_blend_follows_whichever_scores_are_right_on_held_out_crops():
    y = np.array([0, 1, 2, 0, 1, 2])
    right = np.eye(3, dtype=np.float32)[y] * 0.8 + 0.2 / 3
    wrong = np.eye(3, dtype=np.float32)[(y + 1) % 3] * 0.6 + 0.4 / 3
    assert choose_blend(right, wrong, y) == 0.0  # the model is right: keep it
    assert choose_blend(wrong, right, y) >= 0.5  # the head is right: the least blend it wins at
    assert choose_blend(right, right, y) == 0.0  # a tie keeps the model's own scores
