"""Basket detector: a frame -> ``Detections`` (product / hand) in the frame's pixel coordinates.

The ONNX model is a CenterNet-style head on a truncated EfficientNet-Lite0 (see models/README.md);
it takes ``image`` float32 (1,3,H,W) RGB 0..255 (the frame letterboxed to the model's size) and
returns ``heatmap`` (1,K,h,w) sigmoid class scores and ``box`` (1,4,h,w) distances in input
pixels from each cell centre to the box's left, top, right and bottom edges. Decoding and NMS
live here in numpy and are shared with training-time evaluation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware.vision.preprocess import letterbox_chw
from firmware.vision.session import ModelLoadError, open_session
from firmware.vision.types import Detections


class Detector:
    def __init__(self, model_path: Path, threads: int = 1, score_threshold: float = 0.3) -> None:
        self._session = open_session(model_path, threads)
        inp = self._session.get_inputs()[0]
        self._input_name = inp.name
        height, width = inp.shape[2], inp.shape[3]
        if not (isinstance(height, int) and isinstance(width, int)):
            raise ModelLoadError(f"{model_path}: input size must be fixed, got {inp.shape}")
        self.input_hw_px = (height, width)
        self.score_threshold = score_threshold

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        height, width = self.input_hw_px
        chw, fit = letterbox_chw(frame_bgr, width, height)
        heatmap, box = self._session.run(None, {self._input_name: chw[None]})
        found = decode(heatmap[0], box[0], self.score_threshold, height // heatmap.shape[2])
        if not len(found):
            return found
        xyxy = fit.to_frame(found.xyxy_px)
        h, w = frame_bgr.shape[:2]
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
        return Detections(xyxy, found.scores, found.class_ids)


MAX_DETECTIONS = 100
NMS_IOU = 0.5


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
