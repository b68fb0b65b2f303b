"""Detector data: the simulator's YOLO-layout sets, CenterNet targets, and flip augmentation.

Numpy/OpenCV only (evaluation in CI uses it without torch). A sample is a BGR frame plus boxes
``(M,4)`` xyxy in frame pixels and ``(M,)`` class ids; everything is letterboxed to the
detector's input with ``firmware.vision.preprocess.letterbox_chw``, the cart's own path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from firmware.vision.preprocess import letterbox_chw


class DetectorDataError(RuntimeError):
    pass


@dataclass(frozen=True)
class FrameSample:
    chw: np.ndarray  # (3,H,W) float32 RGB 0..255, already letterboxed to the model input
    xyxy_px: np.ndarray  # (M,4) float32, model-input pixels
    class_ids: np.ndarray  # (M,) int64


def read_yolo(
    folder: Path, splits: tuple[str, ...], input_wh_px: tuple[int, int]
) -> list[FrameSample]:
    """All images of the given splits of a YOLO-layout folder, letterboxed to the input size."""
    width, height = input_wh_px
    samples: list[FrameSample] = []
    for split in splits:
        image_dir = folder / "images" / split
        if not image_dir.is_dir():
            raise DetectorDataError(f"{image_dir} does not exist")
        for image_path in sorted(image_dir.glob("*.jpg")):
            frame = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
            if frame is None:
                raise DetectorDataError(f"cannot read {image_path}")
            h, w = frame.shape[:2]
            label_path = folder / "labels" / split / (image_path.stem + ".txt")
            rows = (
                np.loadtxt(label_path, ndmin=2) if label_path.stat().st_size else np.zeros((0, 5))
            )
            chw, fit = letterbox_chw(frame, width, height)
            cx, cy, bw, bh = rows[:, 1] * w, rows[:, 2] * h, rows[:, 3] * w, rows[:, 4] * h
            xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
            xyxy = xyxy * fit.scale + [fit.pad_x_px, fit.pad_y_px] * 2
            samples.append(FrameSample(chw, xyxy.astype(np.float32), rows[:, 0].astype(np.int64)))
    return samples


def flipped(sample: FrameSample, horizontal: bool, vertical: bool) -> FrameSample:
    """Mirror a sample: the camera looks straight down, so both flips are plausible views."""
    chw, xyxy = sample.chw, sample.xyxy_px.copy()
    _, h, w = chw.shape
    if horizontal:
        chw = chw[:, :, ::-1]
        xyxy[:, [0, 2]] = w - xyxy[:, [2, 0]]
    if vertical:
        chw = chw[:, ::-1, :]
        xyxy[:, [1, 3]] = h - xyxy[:, [3, 1]]
    return FrameSample(np.ascontiguousarray(chw), xyxy, sample.class_ids)


GAUSSIAN_ALPHA = 0.54  # TTFNet: the Gaussian's sigma is alpha * size / 6 along each axis
BOX_REGION = 0.3  # cells where the object's Gaussian exceeds this regress its box


def targets(
    sample: FrameSample, num_classes: int, stride_px: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CenterNet/TTFNet targets: heatmap (K,h,w), box ltrb px (4,h,w), box weight (h,w).

    Each object paints an elliptical Gaussian (peak 1 at its centre cell) on its class's heatmap.
    Cells near the centre regress the distances to the box edges, weighted by the Gaussian, so
    the centre counts most; where objects overlap, the smaller one wins (it is drawn last).
    """
    _, height, width = sample.chw.shape
    h, w = height // stride_px, width // stride_px
    heatmap = np.zeros((num_classes, h, w), np.float32)
    box = np.zeros((4, h, w), np.float32)
    weight = np.zeros((h, w), np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    centres_x, centres_y = (xs + 0.5) * stride_px, (ys + 0.5) * stride_px
    areas = (sample.xyxy_px[:, 2] - sample.xyxy_px[:, 0]) * (
        sample.xyxy_px[:, 3] - sample.xyxy_px[:, 1]
    )
    for i in np.argsort(-areas):
        x1, y1, x2, y2 = sample.xyxy_px[i]
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        cx, cy = (x1 + x2) / 2 / stride_px, (y1 + y2) / 2 / stride_px
        icx, icy = min(int(cx), w - 1), min(int(cy), h - 1)
        sx = max(GAUSSIAN_ALPHA * (x2 - x1) / 6 / stride_px, 0.5)
        sy = max(GAUSSIAN_ALPHA * (y2 - y1) / 6 / stride_px, 0.5)
        g = np.exp(-((xs - icx) ** 2) / (2 * sx * sx) - ((ys - icy) ** 2) / (2 * sy * sy))
        c = int(sample.class_ids[i])
        heatmap[c] = np.maximum(heatmap[c], g)
        inside = (centres_x > x1) & (centres_x < x2) & (centres_y > y1) & (centres_y < y2)
        region = (g > BOX_REGION) & inside
        region[icy, icx] = True
        box[0][region] = centres_x[region] - x1
        box[1][region] = centres_y[region] - y1
        box[2][region] = x2 - centres_x[region]
        box[3][region] = y2 - centres_y[region]
        # log(area) normalisation (TTFNet): large objects do not drown small ones in the loss.
        weight[region] = g[region] * math.log(max((x2 - x1) * (y2 - y1), 2.0)) / g[region].sum()
    return heatmap, box, weight
