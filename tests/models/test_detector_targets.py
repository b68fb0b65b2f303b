"""Targets and decoding are inverses: decoding the training targets gives back the boxes."""

import numpy as np
import pytest

from firmware.vision.detector import decode, nms
from firmware.vision.types import Detections
from models.detection_metrics import average_precision
from models.detector_data import FrameSample, flipped, targets


def sample() -> FrameSample:
    xyxy = np.array([[20, 30, 100, 90], [150, 40, 230, 200], [260, 150, 310, 230]], np.float32)
    return FrameSample(np.zeros((3, 240, 320), np.float32), xyxy, np.array([0, 0, 1], np.int64))


def test_decoding_the_targets_recovers_the_boxes():
    s = sample()
    heatmap, box, weight = targets(s, num_classes=2, stride_px=8)
    assert heatmap.shape == (2, 30, 40) and box.shape == (4, 30, 40)
    assert heatmap.max() == pytest.approx(1.0) and (weight > 0).sum() >= 3
    found = decode(heatmap, box, score_threshold=0.99, stride_px=8)
    assert len(found) == 3
    for truth, cls in zip(s.xyxy_px, s.class_ids, strict=True):
        match = found.filter(found.class_ids == cls)
        assert np.abs(match.xyxy_px - truth).min(axis=0).max() < 1e-3
    assert average_precision([found], [(s.xyxy_px, s.class_ids)], class_id=0) == pytest.approx(1.0)


def test_flips_move_boxes_with_the_pixels():
    s = sample()
    s.chw[:, 30:90, 20:100] = 255
    f = flipped(s, horizontal=True, vertical=True)
    x1, y1, x2, y2 = f.xyxy_px[0].astype(int)
    assert (x1, y1, x2, y2) == (220, 150, 300, 210)
    assert f.chw[:, y1:y2, x1:x2].min() == 255


def test_nms_drops_the_weaker_overlapping_box():
    xyxy = np.array([[0, 0, 10, 10], [0, 1, 10, 11], [50, 50, 60, 60]], np.float32)
    keep = nms(xyxy, np.array([0.5, 0.9, 0.3], np.float32))
    assert keep.tolist() == [1, 2]


def test_decoding_keeps_products_piled_on_each_other():
    # Two products, the second lying over most of the first: their boxes overlap at IoU 0.57.
    xyxy = np.array([[40, 40, 160, 160], [60, 56, 180, 176]], np.float32)
    s = FrameSample(np.zeros((3, 240, 320), np.float32), xyxy, np.array([0, 0], np.int64))
    heatmap, box, _ = targets(s, num_classes=2, stride_px=8)
    found = decode(heatmap, box, score_threshold=0.99, stride_px=8)
    assert len(found) == 2


def test_ap_counts_false_positives_and_misses():
    truth = (np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32), np.array([0, 0]))
    pred = Detections(
        np.array([[0, 0, 10, 10], [40, 40, 50, 50]], np.float32),
        np.array([0.9, 0.8], np.float32),
        np.array([0, 0], np.int64),
    )
    # One hit at full precision then nothing: recall stops at 0.5.
    assert average_precision([pred], [truth], class_id=0) == pytest.approx(0.5)
