"""Detection accuracy: average precision at an IoU threshold (VOC all-point interpolation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from firmware.vision.detector import iou_one_to_many
from firmware.vision.types import Detections


def average_precision(
    predictions: Sequence[Detections],
    truths: Sequence[tuple[np.ndarray, np.ndarray]],  # per image: (xyxy (M,4), class_ids (M,))
    class_id: int,
    iou_threshold: float = 0.5,
) -> float:
    """AP for one class over a set of images; NaN when the class never occurs in the truth."""
    records: list[tuple[float, bool]] = []
    positives = 0
    for pred, (gt_xyxy, gt_cls) in zip(predictions, truths, strict=True):
        gt = gt_xyxy[gt_cls == class_id]
        positives += len(gt)
        taken = np.zeros(len(gt), bool)
        mine = pred.filter(pred.class_ids == class_id)
        for j in np.argsort(-mine.scores, kind="stable"):
            hit = False
            if len(gt):
                ious = iou_one_to_many(mine.xyxy_px[j], gt)
                ious[taken] = -1
                best = int(np.argmax(ious))
                if ious[best] >= iou_threshold:
                    taken[best] = hit = True
            records.append((float(mine.scores[j]), hit))
    if positives == 0:
        return float("nan")
    records.sort(key=lambda r: -r[0])
    hits = np.array([h for _, h in records], dtype=np.float64)
    tp, fp = np.cumsum(hits), np.cumsum(1 - hits)
    recall = tp / positives
    precision = tp / np.maximum(tp + fp, 1e-9)
    # All-point interpolation: precision made monotone, integrated over recall steps.
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[1.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    steps = np.nonzero(r[1:] != r[:-1])[0]
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))
