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
        found = decode(heatmap[0], box[0], self.score_threshold)
        if not len(found):
            return found
        xyxy = fit.to_frame(found.xyxy_px)
        h, w = frame_bgr.shape[:2]
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
        return Detections(xyxy, found.scores, found.class_ids)


def decode(heatmap: np.ndarray, box: np.ndarray, score_threshold: float) -> Detections:
    """Head outputs of one image -> Detections in detector-input pixels."""
    raise NotImplementedError("the detector's decoder lands with the detector model (issue 8)")
