"""The values the vision stage hands on: ``Detections`` (per frame) and ``Recognition`` (per crop).

Both are frozen and validated on construction, so a malformed array fails where it is made, with
a message that says what was expected and what arrived, not three stages later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class DetectionClass(IntEnum):
    PRODUCT = 0
    HAND = 1


class VisionError(RuntimeError):
    """Base of the vision package's errors."""


class ModelInputError(VisionError, ValueError):
    """An image or array that a model cannot take (wrong shape, dtype or empty)."""


def _check(arr: np.ndarray, name: str, dtype: type, shape_tail: tuple[int, ...]) -> None:
    if not isinstance(arr, np.ndarray):
        raise ModelInputError(f"{name}: expected numpy array, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise ModelInputError(f"{name}: expected dtype {np.dtype(dtype)}, got {arr.dtype}")
    if arr.ndim != 1 + len(shape_tail) or tuple(arr.shape[1:]) != shape_tail:
        want = "(N" + "".join(f", {d}" for d in shape_tail) + ")"
        raise ModelInputError(f"{name}: expected shape {want}, got {arr.shape}")


@dataclass(frozen=True, slots=True)
class Detections:
    """N boxes in the input frame's pixel coordinates (x1, y1, x2, y2), best score first."""

    xyxy_px: np.ndarray  # (N, 4) float32
    scores: np.ndarray  # (N,) float32, 0..1
    class_ids: np.ndarray  # (N,) int64, DetectionClass values

    def __post_init__(self) -> None:
        _check(self.xyxy_px, "xyxy_px", np.float32, (4,))
        _check(self.scores, "scores", np.float32, ())
        _check(self.class_ids, "class_ids", np.int64, ())
        n = len(self.xyxy_px)
        if len(self.scores) != n or len(self.class_ids) != n:
            raise ModelInputError(
                f"lengths differ: xyxy_px {n}, scores {len(self.scores)}, "
                f"class_ids {len(self.class_ids)}"
            )
        if n and not np.isin(self.class_ids, [c.value for c in DetectionClass]).all():
            raise ModelInputError(f"class_ids must be 0 (product) or 1 (hand): {self.class_ids}")
        if n and (self.xyxy_px[:, 2:] < self.xyxy_px[:, :2]).any():
            raise ModelInputError("xyxy_px: x2 < x1 or y2 < y1")

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            xyxy_px=np.zeros((0, 4), np.float32),
            scores=np.zeros((0,), np.float32),
            class_ids=np.zeros((0,), np.int64),
        )

    def __len__(self) -> int:
        return len(self.scores)

    def filter(self, mask: np.ndarray) -> Detections:
        """A new Detections holding the rows where the boolean ``mask`` is true."""
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (len(self),):
            raise ModelInputError(
                f"mask: expected bool ({len(self)},), got {mask.dtype} {mask.shape}"
            )
        return Detections(self.xyxy_px[mask], self.scores[mask], self.class_ids[mask])

    def of_class(self, cls: DetectionClass) -> Detections:
        return self.filter(self.class_ids == cls.value)


@dataclass(frozen=True, slots=True)
class Recognition:
    """What the recognizer says about one crop."""

    top: tuple[tuple[str, float], ...]  # (sku, probability) best first, top-5
    embedding: np.ndarray  # (D,) float32, L2-normalised: for gallery nearest-neighbour

    def __post_init__(self) -> None:
        if not self.top:
            raise ModelInputError("top: at least one (sku, probability) is required")
        probs = [p for _, p in self.top]
        if any(a < b for a, b in zip(probs, probs[1:], strict=False)):
            raise ModelInputError(f"top: must be sorted best first, got {probs}")
        if self.embedding.ndim != 1 or self.embedding.dtype != np.float32:
            raise ModelInputError(
                "embedding: expected 1-D float32, "
                f"got {self.embedding.dtype} {self.embedding.shape}"
            )
        norm = float(np.linalg.norm(self.embedding))
        if abs(norm - 1.0) > 1e-3:
            raise ModelInputError(f"embedding: must be L2-normalised, norm is {norm:.4f}")

    @property
    def sku(self) -> str:
        return self.top[0][0]

    @property
    def probability(self) -> float:
        return self.top[0][1]
