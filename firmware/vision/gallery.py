"""Enrol products from a few photos and name crops by nearest neighbour, without retraining.

The recognizer's embedding is L2-normalised, so cosine similarity is a dot product. A gallery is
an immutable set of (sku, embedding) exemplars; ``enrolled`` returns a new gallery, so a running
cart can swap galleries atomically. A crop's score for a sku is its best similarity to any of
that sku's exemplars (nearest neighbour, not a class mean: a product photographed from the front
and the back stays two clusters). Saved as .npz (no pickle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware.vision.types import ModelInputError, VisionError


class GalleryError(VisionError):
    pass


def _check_embeddings(embeddings: np.ndarray, dim: int | None) -> np.ndarray:
    e = np.asarray(embeddings, dtype=np.float32)
    if e.ndim == 1:
        e = e[None]
    if e.ndim != 2 or len(e) == 0:
        raise ModelInputError(f"embeddings: expected (N, D) with N >= 1, got {e.shape}")
    if dim is not None and e.shape[1] != dim:
        raise ModelInputError(f"embeddings: expected dimension {dim}, got {e.shape[1]}")
    norms = np.linalg.norm(e, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-3):
        raise ModelInputError("embeddings must be L2-normalised (the recognizer's output is)")
    return e


@dataclass(frozen=True, slots=True)
class Match:
    sku: str
    similarity: float  # cosine, -1..1


@dataclass(frozen=True)
class Gallery:
    skus: tuple[str, ...]  # one per exemplar row
    embeddings: np.ndarray  # (N, D) float32, L2-normalised

    def __post_init__(self) -> None:
        if self.embeddings.ndim != 2 or len(self.skus) != len(self.embeddings):
            raise ModelInputError(
                f"{len(self.skus)} skus for embeddings of shape {self.embeddings.shape}"
            )

    @classmethod
    def empty(cls, dim: int) -> Gallery:
        return cls((), np.zeros((0, dim), np.float32))

    @property
    def dim(self) -> int:
        return self.embeddings.shape[1]

    def __len__(self) -> int:
        return len(self.skus)

    def known_skus(self) -> frozenset[str]:
        return frozenset(self.skus)

    def enrolled(self, sku: str, embeddings: np.ndarray) -> Gallery:
        """A new gallery with ``sku``'s exemplars added (a few photos: one row each)."""
        if not sku:
            raise ModelInputError("sku must be non-empty")
        e = _check_embeddings(embeddings, self.dim)
        return Gallery(self.skus + (sku,) * len(e), np.concatenate([self.embeddings, e]))

    def without(self, sku: str) -> Gallery:
        keep = np.array([s != sku for s in self.skus], dtype=bool)
        return Gallery(tuple(s for s in self.skus if s != sku), self.embeddings[keep])

    def nearest(self, embedding: np.ndarray, k: int = 5) -> list[Match]:
        """The k best skus for one embedding, best first (each sku at most once)."""
        if not len(self):
            raise GalleryError("the gallery is empty: enrol products first")
        query = _check_embeddings(embedding, self.dim)[0]
        sims = self.embeddings @ query
        best: dict[str, float] = {}
        for i in np.argsort(-sims):
            best.setdefault(self.skus[i], float(sims[i]))
            if len(best) == k:
                break
        return [Match(sku, sim) for sku, sim in best.items()]

    def save(self, path: Path) -> None:
        np.savez(path, skus=np.array(self.skus, dtype=str), embeddings=self.embeddings)

    @classmethod
    def load(cls, path: Path) -> Gallery:
        try:
            with np.load(path, allow_pickle=False) as data:
                skus, embeddings = data["skus"], data["embeddings"]
        except (OSError, KeyError, ValueError) as e:
            raise GalleryError(f"cannot read gallery {path}: {e}") from e
        if embeddings.ndim == 2 and len(embeddings) == 0:
            return cls((), embeddings.astype(np.float32))
        return cls(tuple(str(s) for s in skus), _check_embeddings(embeddings, None))


def enrol_many(gallery: Gallery, items: Sequence[tuple[str, np.ndarray]]) -> Gallery:
    for sku, embeddings in items:
        gallery = gallery.enrolled(sku, embeddings)
    return gallery
