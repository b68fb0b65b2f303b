"""Image -> model input, shared by the cart and by training-time evaluation.

Both models take float32 NCHW RGB in 0..255 and normalise inside the graph, so what happens here
is only geometry and channel order. Training's evaluation imports these same functions, so the
accuracy in the model card is the accuracy of exactly this preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from firmware.vision.types import ModelInputError


def _check_bgr(image_bgr: np.ndarray) -> None:
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ModelInputError(
            f"expected HxWx3 uint8 BGR, got {image_bgr.dtype} {getattr(image_bgr, 'shape', None)}"
        )
    if image_bgr.shape[0] == 0 or image_bgr.shape[1] == 0:
        raise ModelInputError(f"empty image {image_bgr.shape}")


def resize_px(image: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
    """cv2.resize with area averaging when shrinking (no aliasing) and bilinear when growing."""
    h, w = image.shape[:2]
    shrink = width_px < w and height_px < h
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (width_px, height_px), interpolation=interp)


def crop_to_chw(crop_bgr: np.ndarray, size_px: int) -> np.ndarray:
    """A product crop (any size) -> (3, size, size) float32 RGB 0..255, whole crop squashed."""
    _check_bgr(crop_bgr)
    rgb = resize_px(crop_bgr, size_px, size_px)[:, :, ::-1]
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was fitted into the detector input: input_px = frame_px * scale + pad."""

    scale: float
    pad_x_px: int
    pad_y_px: int

    def to_frame(self, xyxy_input_px: np.ndarray) -> np.ndarray:
        """Boxes in detector-input pixels -> boxes in the original frame's pixels."""
        out = xyxy_input_px.astype(np.float32, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x_px) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y_px) / self.scale
        return out


LETTERBOX_FILL = 114  # grey: what the detector was trained to see as "outside the frame"


def letterbox_chw(
    frame_bgr: np.ndarray, width_px: int, height_px: int
) -> tuple[np.ndarray, Letterbox]:
    """Fit a frame into width x height keeping aspect, centred on grey -> (3,H,W) float32 RGB."""
    _check_bgr(frame_bgr)
    h, w = frame_bgr.shape[:2]
    scale = min(width_px / w, height_px / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    pad_x, pad_y = (width_px - new_w) // 2, (height_px - new_h) // 2
    canvas = np.full((height_px, width_px, 3), LETTERBOX_FILL, np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resize_px(frame_bgr, new_w, new_h)
    chw = np.ascontiguousarray(canvas[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)
    return chw, Letterbox(scale, pad_x, pad_y)
