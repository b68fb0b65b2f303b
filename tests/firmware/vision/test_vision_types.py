import re

import numpy as np
import pytest

from firmware.vision.types import DetectionClass, Detections, ModelInputError, Recognition


def make_detections(n: int = 3) -> Detections:
    xyxy = np.array([[10, 20, 50, 80], [0, 0, 5, 5], [30, 30, 31, 32]], np.float32)[:n]
    return Detections(
        xyxy_px=xyxy,
        scores=np.array([0.9, 0.5, 0.4], np.float32)[:n],
        class_ids=np.array([0, 1, 0], np.int64)[:n],
    )


def test_empty_has_length_zero_and_right_shapes():
    d = Detections.empty()
    assert len(d) == 0
    assert d.xyxy_px.shape == (0, 4)


def test_filter_keeps_rows_in_order():
    d = make_detections()
    products = d.of_class(DetectionClass.PRODUCT)
    assert len(products) == 2
    assert products.scores.tolist() == pytest.approx([0.9, 0.4])
    assert products.xyxy_px[1].tolist() == [30, 30, 31, 32]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("xyxy_px", np.zeros((3, 4), np.float64), "dtype float32"),
        ("xyxy_px", np.zeros((3, 5), np.float32), "shape"),
        ("scores", np.zeros((2,), np.float32), "lengths differ"),
        ("class_ids", np.array([0, 2, 0], np.int64), "0 (product) or 1 (hand)"),
    ],
)
def test_malformed_detections_are_refused_with_a_message(field, value, message):
    d = make_detections()
    kwargs = {"xyxy_px": d.xyxy_px, "scores": d.scores, "class_ids": d.class_ids, field: value}
    with pytest.raises(ModelInputError, match=re.escape(message)):
        Detections(**kwargs)


def test_inverted_box_is_refused():
    with pytest.raises(ModelInputError, match="x2 < x1"):
        Detections(
            np.array([[10, 10, 5, 20]], np.float32),
            np.array([0.5], np.float32),
            np.array([0], np.int64),
        )


def test_filter_needs_a_boolean_mask_of_the_right_length():
    with pytest.raises(ModelInputError):
        make_detections().filter(np.array([1, 0, 1]))


def unit(v: list[float]) -> np.ndarray:
    a = np.array(v, np.float32)
    return a / np.linalg.norm(a)


def test_recognition_exposes_best_sku():
    r = Recognition(top=(("a", 0.7), ("b", 0.2)), embedding=unit([1, 2, 3]))
    assert (r.sku, r.probability) == ("a", 0.7)


def test_recognition_refuses_unsorted_or_unnormalised():
    with pytest.raises(ModelInputError, match="sorted"):
        Recognition(top=(("a", 0.2), ("b", 0.7)), embedding=unit([1, 0]))
    with pytest.raises(ModelInputError, match="L2"):
        Recognition(top=(("a", 0.7),), embedding=np.array([3, 4], np.float32))
