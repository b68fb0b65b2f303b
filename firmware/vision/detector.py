"""Basket detector: a frame -> ``Detections`` (product / hand) in the frame's pixel coordinates.

The ONNX model is a CenterNet-style head on a truncated EfficientNet-Lite0 (see models/README.md);
it takes ``image`` float32 (1,3,H,W) RGB 0..255 (the frame letterboxed to the model's size) and
returns ``heatmap`` (1,K,h,w) sigmoid class scores and ``box`` (1,4,h,w) distances in input
pixels from each cell centre to the box's left, top, right and bottom edges. Decoding and NMS
live here in numpy and are shared with training-time evaluation.

Test-time augmentation (opt-in, ``views``): the detector can also look at mirrored copies of
the frame, its half turn and left-right mirror; the camera looks straight down, so every flip is
a plausible view, and training used them. Each view is decoded on its own, its boxes mapped back
into the frame, and the views' boxes are fused (weighted box fusion): boxes of one class that
overlap by more than ``FUSION_IOU`` become one box, their score-weighted mean, scored by the sum
of their scores over the number of views, so a box only one view finds keeps a third of its
score. Each view costs one model run. Chosen on 400 frames of simulator seed 2000 (never trained
on): product AP@0.5 0.854 for the frame alone, 0.882 with the half turn (2 views), 0.893 with
3, 0.895 with all 4. The cart defaults to the frame alone (``[models] detector_views = 1``):
with 3 views its pipeline fell from 78 to 29 fps on one core of the x86 dev box (the goal is
45), and the replayed feeds scored the same F1 either way (models/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from firmware.vision.preprocess import letterbox_chw
from firmware.vision.session import ModelLoadError, open_session
from firmware.vision.types import Detections, ModelInputError

Flip = tuple[bool, bool]  # (horizontal, vertical) mirror of the model input
# The first n of these are the best n views on seed 2000 (product AP@0.5 0.854, 0.882, 0.893,
# 0.895 for n = 1..4), so a cart's config can trade AP for CPU with one number.
VIEWS_BY_VALUE: tuple[Flip, ...] = ((False, False), (True, True), (True, False), (False, True))


def first_views(n: int) -> tuple[Flip, ...]:
    """The ``n`` most useful views (1..4): the frame, its half turn, left-right, top-bottom."""
    if not 1 <= n <= len(VIEWS_BY_VALUE):
        raise ValueError(f"views must be 1..{len(VIEWS_BY_VALUE)}, got {n}")
    return VIEWS_BY_VALUE[:n]


SINGLE_VIEW = first_views(1)  # the frame alone: the cart's default (module docstring)
TTA_VIEWS = first_views(3)  # the frame, its half turn and its left-right mirror
ALL_FLIPS = first_views(4)


class Detector:
    def __init__(
        self,
        model_path: Path,
        threads: int = 1,
        score_threshold: float = 0.3,
        views: Sequence[Flip] = SINGLE_VIEW,
    ) -> None:
        self._session = open_session(model_path, threads)
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        height, width = inp.shape[2], inp.shape[3]
        if not (isinstance(height, int) and isinstance(width, int)):
            raise ModelLoadError(f"{model_path}: input size must be fixed, got {inp.shape}")
        self.input_hw_px = (height, width)
        self.score_threshold = score_threshold
        self.views = tuple((bool(h), bool(v)) for h, v in views)
        if not self.views or len(set(self.views)) != len(self.views):
            raise ValueError(f"views must be distinct (horizontal, vertical) flips, got {views}")

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        height, width = self.input_hw_px
        chw, fit = letterbox_chw(frame_bgr, width, height)
        # A fused score is the views' summed score over their number: a peak under
        # score_threshold / views adds less than that to any fused box, so no view goes lower.
        view_threshold = self.score_threshold / len(self.views)
        found = []
        for horizontal, vertical in self.views:
            heatmap, box = self._session.run(
                None, {self._input_name: flip_chw(chw, horizontal, vertical)[None]}
            )
            stride = height // heatmap.shape[2]
            cells_h, cells_w = heatmap.shape[2:]
            if (horizontal or vertical) and (cells_h * stride, cells_w * stride) != (height, width):
                raise ModelLoadError(f"flipped views need whole {stride} px cells: {heatmap.shape}")
            heatmap, box = unflip_outputs(heatmap[0], box[0], horizontal, vertical)
            found.append(decode(heatmap, box, view_threshold, stride))
        fused = found[0] if len(found) == 1 else fuse(found, self.score_threshold)
        if not len(fused):
            return fused
        xyxy = fit.to_frame(fused.xyxy_px)
        h, w = frame_bgr.shape[:2]
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
        return Detections(xyxy, fused.scores, fused.class_ids)


MAX_DETECTIONS = 100
# Peak picking already keeps one box per object; NMS only has to catch a long object's second
# peak. At 0.5 it also removed real products piled on each other: 0.7 was the best of 0.5-0.8
# on seed 2000 (product AP@0.5 0.877 -> 0.885, 0.6-0.8 and none within 0.002).
NMS_IOU = 0.7
FUSION_IOU = 0.6  # chosen on 400 frames of simulator seed 2000 (0.55-0.7 within 0.004 AP)


def flip_chw(chw: np.ndarray, horizontal: bool, vertical: bool) -> np.ndarray:
    """A (C,H,W) image mirrored left-right and/or top-bottom (a contiguous copy when flipped)."""
    if horizontal:
        chw = chw[:, :, ::-1]
    if vertical:
        chw = chw[:, ::-1, :]
    return np.ascontiguousarray(chw)


def unflip_outputs(
    heatmap: np.ndarray, box: np.ndarray, horizontal: bool, vertical: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Head outputs of a mirrored input -> outputs in the unmirrored input's cells.

    The cells mirror onto cells exactly when the input is a whole number of cells (320x240 at
    stride 8); a mirrored box's left distance is the true box's right distance, and so on.
    """
    if heatmap.shape[1:] != box.shape[1:]:
        raise ModelInputError(f"box {box.shape} and heatmap {heatmap.shape} cells differ")
    if horizontal:
        heatmap, box = heatmap[:, :, ::-1], box[[2, 1, 0, 3], :, ::-1]
    if vertical:
        heatmap, box = heatmap[:, ::-1, :], box[[0, 3, 2, 1], ::-1, :]
    return heatmap, box


def peaks(heatmap: np.ndarray) -> np.ndarray:
    """Boolean (K,h,w): cells that are the maximum of their 3x3 neighbourhood (CenterNet's NMS)."""
    k, h, w = heatmap.shape
    padded = np.pad(heatmap, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    neighbourhood = np.max(
        [padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=0
    )
    return heatmap >= neighbourhood


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order):
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        order = rest[iou_one_to_many(xyxy[i], xyxy[rest]) <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def decode(
    heatmap: np.ndarray, box: np.ndarray, score_threshold: float, stride_px: int | None = None
) -> Detections:
    """Head outputs of one image -> Detections in detector-input pixels.

    ``heatmap`` (K,h,w) sigmoid scores; ``box`` (4,h,w) distances in input pixels from the cell
    centre to the left, top, right and bottom edges. Peaks above the threshold become boxes;
    NMS per class then removes the duplicates two neighbouring peaks can give a long object.
    """
    k, h, w = heatmap.shape
    stride = stride_px or 8
    cls, ys, xs = np.nonzero(peaks(heatmap) & (heatmap >= score_threshold))
    if not len(cls):
        return Detections.empty()
    scores = heatmap[cls, ys, xs].astype(np.float32)
    cx, cy = (xs + 0.5) * stride, (ys + 0.5) * stride
    left, top, right, bottom = box[:, ys, xs]
    xyxy = np.stack([cx - left, cy - top, cx + right, cy + bottom], axis=1).astype(np.float32)
    keep_all: list[np.ndarray] = []
    for c in np.unique(cls):
        idx = np.nonzero(cls == c)[0]
        keep_all.append(idx[nms(xyxy[idx], scores[idx])])
    keep = np.concatenate(keep_all)
    keep = keep[np.argsort(-scores[keep], kind="stable")][:MAX_DETECTIONS]
    return Detections(xyxy[keep], scores[keep], cls[keep].astype(np.int64))


def fuse(
    views: Sequence[Detections], score_threshold: float, iou: float = FUSION_IOU
) -> Detections:
    """Weighted box fusion of several views' detections (in the same coordinates).

    Per class, best score first, each box joins the fused box it overlaps most if that IoU
    exceeds ``iou``, else starts a new one. A fused box is the score-weighted mean of its
    members, scored by their summed score over the number of views (over the number of members
    when more than that), so agreement raises a score and a box seen in one view is discounted.
    Fused boxes under ``score_threshold`` are dropped.
    """
    n_views = len(views)
    xyxy = np.concatenate([v.xyxy_px for v in views]).astype(np.float64)
    scores = np.concatenate([v.scores for v in views]).astype(np.float64)
    cls = np.concatenate([v.class_ids for v in views])
    out_xyxy: list[np.ndarray] = []
    out_scores: list[float] = []
    out_cls: list[int] = []
    for c in np.unique(cls):
        idx = np.nonzero(cls == c)[0]
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        fused = np.zeros((len(idx), 4))  # fused boxes so far: rows [0, n)
        weighted = np.zeros((len(idx), 4))  # sum of score * box per fused box
        total = np.zeros(len(idx))  # sum of scores per fused box
        members = np.zeros(len(idx), np.int64)
        n = 0
        for i in idx:
            best = -1
            if n:
                overlap = iou_one_to_many(xyxy[i], fused[:n])
                best = int(np.argmax(overlap))
                if overlap[best] <= iou:
                    best = -1
            if best < 0:
                best, n = n, n + 1
            weighted[best] += scores[i] * xyxy[i]
            total[best] += scores[i]
            members[best] += 1
            fused[best] = weighted[best] / total[best]
        score = total[:n] / np.maximum(members[:n], n_views)
        out_xyxy += list(fused[:n])
        out_scores += list(score)
        out_cls += [int(c)] * n
    if not out_scores:
        return Detections.empty()
    s = np.array(out_scores, np.float32)
    keep = np.nonzero(s >= score_threshold)[0]
    keep = keep[np.argsort(-s[keep], kind="stable")][:MAX_DETECTIONS]
    return Detections(
        np.array(out_xyxy, np.float32).reshape(-1, 4)[keep],
        s[keep],
        np.array(out_cls, np.int64)[keep],
    )
