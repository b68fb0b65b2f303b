import numpy as np
import pytest

from firmware.vision.preprocess import LETTERBOX_FILL, crop_to_chw, letterbox_chw
from firmware.vision.types import ModelInputError


def test_crop_becomes_rgb_chw_float():
    crop = np.zeros((40, 60, 3), np.uint8)
    crop[..., 0] = 255  # blue in BGR
    chw = crop_to_chw(crop, 32)
    assert chw.shape == (3, 32, 32) and chw.dtype == np.float32
    assert chw[2].min() == 255 and chw[0].max() == 0  # blue ends up in the last (B of RGB)


def test_letterbox_maps_boxes_back_to_the_frame():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[100:200, 300:400] = 255
    chw, fit = letterbox_chw(frame, 320, 320)
    assert chw.shape == (3, 320, 320)
    assert chw[:, 0, 0].tolist() == [LETTERBOX_FILL] * 3  # top padding
    # The white square lies at frame (300,100)-(400,200): scale 0.5, 40 px of top padding.
    ys, xs = np.nonzero(chw[0] > 200)
    box_input = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    assert fit.to_frame(box_input)[0].tolist() == pytest.approx([300, 100, 400, 200], abs=2)


def test_grey_or_empty_images_are_refused():
    with pytest.raises(ModelInputError):
        crop_to_chw(np.zeros((10, 10), np.uint8), 8)
    with pytest.raises(ModelInputError):
        crop_to_chw(np.zeros((0, 10, 3), np.uint8), 8)
