"""A store's own linear head over the recognizer's embedding, blended with the model's scores.

The recognizer was fine-tuned mostly on close-up phone photos; the cart sees products small,
from above, under hands. A store adapts it to its own view without retraining the network: a
linear classifier fitted on the embeddings of labelled crops cut by its carts (``smartcart
models fit-store-head``, seconds of CPU) whose probabilities are mixed into the model's own:

    p = (1 - blend) * softmax(logits) + blend * softmax(embedding @ weights.T + bias)

The head belongs to one recognizer: another graph's embedding means something else, so a head
records the recognizer version and file digest it was fitted on and ``check_fits`` refuses any
other. Saved as .npz (no pickle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware.vision.recognizer import softmax
from firmware.vision.types import ModelInputError, VisionError


class StoreHeadError(VisionError):
    """A head file that cannot be read, or one fitted for another recognizer."""


@dataclass(frozen=True)
class StoreHead:
    labels: tuple[str, ...]  # one per row of ``weights``, the recognizer's label order
    weights: np.ndarray  # (C, D) float32
    bias: np.ndarray  # (C,) float32
    blend: float  # share of the head in the mixed probabilities, 0..1
    recognizer_sha256: str  # the recognizer file (fp32) whose embedding it was fitted on

    def __post_init__(self) -> None:
        c = len(self.labels)
        if self.weights.ndim != 2 or self.weights.shape[0] != c:
            raise ModelInputError(f"weights: expected ({c}, D), got {self.weights.shape}")
        if self.bias.shape != (c,):
            raise ModelInputError(f"bias: expected ({c},), got {self.bias.shape}")
        if not 0.0 <= self.blend <= 1.0:
            raise ModelInputError(f"blend must be within 0..1, got {self.blend}")
        if not (np.isfinite(self.weights).all() and np.isfinite(self.bias).all()):
            raise ModelInputError("weights and bias must be finite")

    @property
    def dim(self) -> int:
        return self.weights.shape[1]

    def check_fits(self, labels: Sequence[str], dim: int, recognizer_sha256: str) -> None:
        if tuple(labels) != self.labels:
            raise StoreHeadError("the store head's labels are not the recognizer's")
        if dim != self.dim:
            raise StoreHeadError(f"store head takes {self.dim}-d embeddings, the model gives {dim}")
        if recognizer_sha256 != self.recognizer_sha256:
            raise StoreHeadError(
                f"store head was fitted on recognizer {self.recognizer_sha256[:12]}, "
                f"not on {recognizer_sha256[:12]}: fit it again (smartcart models fit-store-head)"
            )

    def mix(self, probs: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """(N, C) model probabilities, (N, D) embeddings -> (N, C) blended probabilities."""
        if embeddings.ndim != 2 or embeddings.shape[1] != self.dim:
            raise ModelInputError(f"embeddings: expected (N, {self.dim}), got {embeddings.shape}")
        head = softmax(embeddings.astype(np.float32) @ self.weights.T + self.bias)
        return (1.0 - self.blend) * probs + self.blend * head

    def save(self, path: Path) -> None:
        np.savez(
            path,
            labels=np.array(self.labels),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            blend=np.float32(self.blend),
            recognizer_sha256=np.array(self.recognizer_sha256),
        )

    @classmethod
    def load(cls, path: Path) -> StoreHead:
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(
                    labels=tuple(str(s) for s in z["labels"]),
                    weights=z["weights"].astype(np.float32),
                    bias=z["bias"].astype(np.float32),
                    blend=float(z["blend"]),
                    recognizer_sha256=str(z["recognizer_sha256"]),
                )
        except (OSError, KeyError, ValueError) as e:
            raise StoreHeadError(f"cannot read store head {path}: {e}") from e
