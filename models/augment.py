"""Training augmentation in numpy/OpenCV (no torchvision): crops, flips, colour, mixup/cutmix.

Every function takes an explicit ``np.random.Generator`` so a run is reproducible from its seed.
Output is float32 (3,S,S) RGB 0..255, the same layout as ``firmware.vision.preprocess``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from firmware.vision.preprocess import resize_px


def random_resized_crop(
    image: np.ndarray,
    size_px: int,
    rng: np.random.Generator,
    scale: tuple[float, float] = (0.25, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> np.ndarray:
    """Inception-style crop: a random area fraction and aspect, resized to size x size."""
    h, w = image.shape[:2]
    for _ in range(10):
        area = h * w * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        cw, ch = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            return resize_px(image[y0 : y0 + ch, x0 : x0 + cw], size_px, size_px)
    return resize_px(image, size_px, size_px)  # fallback: the whole image


def colour_jitter(
    image_bgr: np.ndarray, rng: np.random.Generator, strength: float = 0.3, hue_deg: float = 4.0
) -> np.ndarray:
    """Brightness, contrast and saturation by +-strength; hue only slightly (it names apples)."""
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-hue_deg, hue_deg) / 2) % 180  # OpenCV hue is 0..180
    hsv[..., 1] *= rng.uniform(1 - strength, 1 + strength)
    out = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out *= rng.uniform(1 - strength, 1 + strength)  # brightness
    mean = out.mean()
    out = (out - mean) * rng.uniform(1 - strength, 1 + strength) + mean  # contrast
    return out.clip(0, 255)


def small_rotation(image: np.ndarray, rng: np.random.Generator, max_deg: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-max_deg, max_deg), 1.0)
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT_101)


def train_view(
    image_bgr: np.ndarray, size_px: int, rng: np.random.Generator, min_area: float = 0.25
) -> np.ndarray:
    """One augmented training view -> (3,S,S) float32 RGB 0..255."""
    out = random_resized_crop(image_bgr, size_px, rng, scale=(min_area, 1.0))
    if rng.random() < 0.5:
        out = out[:, ::-1]
    if rng.random() < 0.3:
        out = small_rotation(out, rng, 15.0)
    out = colour_jitter(out, rng)
    return np.ascontiguousarray(out[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)


def mix_batch(
    x: np.ndarray, y_onehot: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """MixUp (alpha 0.2) or CutMix (alpha 1.0), one of the two per batch, with a shuffled pair."""
    perm = rng.permutation(len(x))
    if rng.random() < 0.5:
        lam = float(rng.beta(0.2, 0.2))
        return lam * x + (1 - lam) * x[perm], lam * y_onehot + (1 - lam) * y_onehot[perm]
    lam = float(rng.beta(1.0, 1.0))
    h, w = x.shape[2:]
    ch, cw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    out = x.copy()
    out[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
    lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)  # the area actually pasted
    return out, lam * y_onehot + (1 - lam) * y_onehot[perm]
