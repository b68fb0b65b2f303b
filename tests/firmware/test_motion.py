"""Motion gate: still scenes and sensor noise do not wake the detector; a moving item does."""

from __future__ import annotations

import cv2
import numpy as np

from firmware.motion import MotionGate


def scene(item_x: int | None, noise: np.random.Generator | None = None) -> np.ndarray:
    img = np.full((240, 320, 3), 100, np.uint8)
    if item_x is not None:
        cv2.rectangle(img, (item_x, 100), (item_x + 30, 130), (40, 200, 40), -1)
    if noise is not None:
        img = np.clip(img + noise.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    return img


def test_still_noisy_scene_is_not_motion() -> None:
    gate, rng = MotionGate(), np.random.default_rng(0)
    gate.is_moving(scene(50, rng))
    assert not any(gate.is_moving(scene(50, rng)) for _ in range(30))


def test_moving_item_is_motion_then_settles() -> None:
    gate = MotionGate()
    gate.is_moving(scene(None))
    moving = [gate.is_moving(scene(20 + 10 * i)) for i in range(10)]
    assert all(moving)
    still = [gate.is_moving(scene(110)) for _ in range(30)]
    assert not any(still[-10:])  # the background learns the item where it came to rest
