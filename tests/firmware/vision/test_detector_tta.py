"""The detector's flipped views: un-mirroring the head outputs, fusing the views' boxes, and the
whole ``Detector.detect`` path on a stand-in model that "sees" coloured rectangles."""

import cv2
import numpy as np
import pytest

import firmware.vision.detector as detector_module
from firmware.config import CartConfig
from firmware.vision.detector import (
    ALL_FLIPS,
    SINGLE_VIEW,
    TTA_VIEWS,
    Detector,
    decode,
    first_views,
    flip_chw,
    fuse,
    unflip_outputs,
)
from firmware.vision.types import Detections
from models.detector_data import FrameSample, flipped, targets

H, W, STRIDE = 240, 320, 8
FLIPS = [(True, False), (False, True), (True, True)]


def frame_sample(xyxy: list[list[float]], classes: list[int]) -> FrameSample:
    return FrameSample(
        np.zeros((3, H, W), np.float32), np.array(xyxy, np.float32), np.array(classes, np.int64)
    )


# Box centres in the middle of a cell, so a mirrored centre lands in the mirrored cell.
BOXES = [[20, 30, 100, 90], [148, 36, 228, 196], [262, 150, 310, 230]]
CLASSES = [0, 0, 1]


@pytest.mark.parametrize("flip", FLIPS)
def test_unflipping_the_outputs_of_a_mirrored_input_gives_the_unmirrored_outputs(flip):
    s = frame_sample(BOXES, CLASSES)
    heatmap, box, _ = targets(s, num_classes=2, stride_px=STRIDE)
    heatmap_m, box_m, _ = targets(flipped(s, *flip), num_classes=2, stride_px=STRIDE)
    back_heatmap, back_box = unflip_outputs(heatmap_m, box_m, *flip)
    assert np.allclose(back_heatmap, heatmap) and np.allclose(back_box, box)
    found = decode(back_heatmap, back_box, 0.99, STRIDE)
    assert len(found) == 3
    for truth in s.xyxy_px:
        assert np.abs(found.xyxy_px - truth).max(axis=1).min() < 1e-3


def test_flip_chw_mirrors_the_image():
    chw = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    assert np.array_equal(flip_chw(chw, True, False)[:, :, 0], chw[:, :, -1])
    assert np.array_equal(flip_chw(chw, False, True)[:, 0, :], chw[:, -1, :])
    assert np.array_equal(flip_chw(chw, True, True), chw[:, ::-1, ::-1])
    assert flip_chw(chw, True, True).flags.c_contiguous


def dets(rows: list[tuple[list[float], float, int]]) -> Detections:
    return Detections(
        np.array([r[0] for r in rows], np.float32).reshape(-1, 4),
        np.array([r[1] for r in rows], np.float32),
        np.array([r[2] for r in rows], np.int64),
    )


def test_fusion_averages_agreeing_views_and_discounts_a_box_one_view_found():
    a = [10, 10, 50, 50]
    views = [
        dets([(a, 0.8, 0), ([100, 100, 140, 140], 0.8, 0)]),
        dets([([12, 10, 52, 50], 0.8, 0)]),
        dets([([8, 10, 48, 50], 0.4, 0), (a, 0.9, 1)]),  # same place, other class
        dets([]),
    ]
    out = fuse(views, score_threshold=0.05)
    products = out.filter(out.class_ids == 0)
    assert len(products) == 2 and len(out.filter(out.class_ids == 1)) == 1
    # Three views agree: score-weighted mean box, summed score over the 4 views.
    x1 = (0.8 * 10 + 0.8 * 12 + 0.4 * 8) / 2.0
    assert products.xyxy_px[0] == pytest.approx([x1, 10, x1 + 40, 50])
    assert products.scores[0] == pytest.approx(2.0 / 4)
    # Found by one view of four: a quarter of its score; the hand likewise.
    assert products.scores[1] == pytest.approx(0.8 / 4)
    assert out.filter(out.class_ids == 1).scores[0] == pytest.approx(0.9 / 4)
    assert list(out.scores) == sorted(out.scores, reverse=True)
    # The threshold applies to the fused score.
    assert len(fuse(views, score_threshold=0.3)) == 1


def test_fusion_keeps_boxes_that_overlap_too_little_apart():
    views = [dets([([0, 0, 40, 40], 0.9, 0)]), dets([([20, 0, 60, 40], 0.9, 0)])]  # IoU 1/3
    assert len(fuse(views, score_threshold=0.0)) == 2


class RectangleModel:
    """A stand-in ONNX session: a perfect detector of white (product) and green (hand)
    rectangles, answering with the training targets of what it sees, optionally leaning every
    box ``lean_px`` to the right of its input."""

    def __init__(self, lean_px: float = 0.0) -> None:
        self.lean_px = lean_px
        self.inputs: list[np.ndarray] = []

    def get_inputs(self):
        class Input:
            name = "image"
            shape = [1, 3, H, W]

        return [Input()]

    def run(self, _names, feed):
        x = feed["image"]
        assert x.shape == (1, 3, H, W) and x.dtype == np.float32
        self.inputs.append(x[0].copy())
        r, g = x[0, 0], x[0, 1]
        xyxy, classes = [], []
        for cls, mask in ((0, (r > 200) & (g > 200)), (1, (g > 200) & (r < 50))):
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
            for x0, y0, w, h, _ in stats[1:n]:
                xyxy.append([x0, y0, x0 + w, y0 + h])
                classes.append(cls)
        heatmap, box, _ = targets(frame_sample(xyxy, classes), 2, STRIDE)
        box[0] -= self.lean_px  # left edge moves right
        box[2] += self.lean_px  # right edge moves right
        return [heatmap[None], box[None]]


def scene() -> tuple[np.ndarray, np.ndarray]:
    frame = np.full((H, W, 3), 90, np.uint8)
    truth = np.array([[21, 33, 97, 91], [150, 40, 231, 203], [260, 149, 313, 233]], np.float32)
    colours = [(255, 255, 255), (255, 255, 255), (0, 255, 0)]  # product, product, hand
    for (x1, y1, x2, y2), bgr in zip(truth.astype(int), colours, strict=True):
        frame[y1:y2, x1:x2] = bgr
    return frame, truth


def detector_on(model: RectangleModel, monkeypatch, **kw) -> Detector:
    monkeypatch.setattr(detector_module, "open_session", lambda *_a, **_k: model)
    return Detector(model_path=None, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("views", [TTA_VIEWS, ALL_FLIPS])
def test_flipped_views_give_the_unflipped_boxes(monkeypatch, views):
    model = RectangleModel()
    det = detector_on(model, monkeypatch, views=views)
    frame, truth = scene()
    found = det.detect(frame)
    assert len(model.inputs) == len(views)  # one model run per view
    plain = model.inputs[0]
    for x, (horizontal, vertical) in zip(model.inputs, views, strict=True):
        assert np.array_equal(x, flip_chw(plain, horizontal, vertical))
    assert len(found) == 3 and found.class_ids.tolist().count(1) == 1
    for t in truth:
        assert np.abs(found.xyxy_px - t).max(axis=1).min() < 1e-3
    assert found.scores == pytest.approx(1.0)  # every view agrees


def test_the_cart_looks_at_the_frame_alone_unless_configured(monkeypatch):
    assert detector_on(RectangleModel(), monkeypatch).views == ((False, False),)
    assert CartConfig.model_validate({"cart_id": "cart-0001"}).models.detector_views == 1
    assert set(TTA_VIEWS) == {(False, False), (True, False), (True, True)}


def test_first_views_adds_the_half_turn_then_the_mirrors_and_refuses_other_counts():
    assert first_views(2) == ((False, False), (True, True))
    assert set(first_views(4)) == set(ALL_FLIPS) and len(ALL_FLIPS) == 4
    for n in (0, 5):
        with pytest.raises(ValueError, match="1..4"):
            first_views(n)


def test_a_left_right_mirror_cancels_a_model_that_leans_to_one_side(monkeypatch):
    frame, truth = scene()
    leaning = detector_on(RectangleModel(lean_px=4.0), monkeypatch, views=SINGLE_VIEW)
    alone = leaning.detect(frame)
    assert np.abs(alone.xyxy_px[:, [0, 2]] - truth[:, [0, 2]]).min() > 3.9  # every box off 4 px
    pair = ((False, False), (True, False))
    fused = detector_on(RectangleModel(lean_px=4.0), monkeypatch, views=pair).detect(frame)
    for t in truth:
        assert np.abs(fused.xyxy_px - t).max(axis=1).min() < 1e-3


def test_a_single_view_detector_is_the_plain_decode(monkeypatch):
    model = RectangleModel()
    det = detector_on(model, monkeypatch, views=SINGLE_VIEW, score_threshold=0.3)
    frame, _ = scene()
    found = det.detect(frame)
    assert len(model.inputs) == 1
    heatmap, box = model.run(None, {"image": model.inputs[0][None]})
    expected = decode(heatmap[0], box[0], 0.3, STRIDE)
    assert np.array_equal(found.xyxy_px, expected.xyxy_px)
    assert np.array_equal(found.scores, expected.scores)


def test_views_must_be_distinct(monkeypatch):
    with pytest.raises(ValueError):
        detector_on(RectangleModel(), monkeypatch, views=((False, False), (False, False)))
    with pytest.raises(ValueError):
        detector_on(RectangleModel(), monkeypatch, views=())
