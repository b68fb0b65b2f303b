"""The Grocery Store Dataset as the recognizer sees it: split lists, classes, decoded images.

Class ids are the dataset's fine class ids, which are also the catalog's order
(``default_catalog().by_class_id()``), so logit i is the product whose ``class_id`` is i.
Decoded images are held in RAM (about 1 GB for train + iconic): JPEG decoding would otherwise cost
as much CPU as a forward pass on this machine.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from smartcart.dataset import dataset_root

SPLITS = ("train", "val", "test")


class GroceryDataError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Sample:
    path: Path
    fine_id: int
    coarse_id: int


@dataclass(frozen=True, slots=True)
class ClassInfo:
    fine_id: int
    name: str
    coarse_id: int
    coarse_name: str
    iconic_path: Path


@cache
def classes(root: Path | None = None) -> tuple[ClassInfo, ...]:
    root = root or dataset_root()
    out: list[ClassInfo] = []
    with (root / "dataset" / "classes.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)  # header
        for name, fine, coarse_name, coarse, iconic, _desc in reader:
            out.append(
                ClassInfo(
                    int(fine),
                    name,
                    int(coarse),
                    coarse_name,
                    root / "dataset" / iconic.lstrip("/"),
                )
            )
    out.sort(key=lambda c: c.fine_id)
    if [c.fine_id for c in out] != list(range(len(out))):
        raise GroceryDataError("classes.csv fine ids are not 0..N-1")
    return tuple(out)


def fine_to_coarse() -> np.ndarray:
    return np.array([c.coarse_id for c in classes()], dtype=np.int64)


def split(name: str, root: Path | None = None) -> list[Sample]:
    if name not in SPLITS:
        raise GroceryDataError(f"unknown split {name!r}; expected one of {SPLITS}")
    root = root or dataset_root()
    samples: list[Sample] = []
    for line in (root / "dataset" / f"{name}.txt").read_text().splitlines():
        if not line.strip():
            continue
        rel, fine, coarse = (part.strip() for part in line.split(","))
        samples.append(Sample(root / "dataset" / rel, int(fine), int(coarse)))
    return samples


def iconic() -> list[Sample]:
    """One studio photo per class on white: extra training data from another distribution."""
    return [Sample(c.iconic_path, c.fine_id, c.coarse_id) for c in classes()]


def decode_all(samples: Sequence[Sample], desc: str = "decode") -> list[np.ndarray]:
    """BGR uint8 images, in order; a missing or unreadable file is an error, not a skip."""
    images: list[np.ndarray] = []
    for s in tqdm(samples, desc=desc, unit="img", leave=False):
        image = cv2.imread(str(s.path), cv2.IMREAD_COLOR)
        if image is None:
            raise GroceryDataError(f"cannot read {s.path}")
        images.append(image)
    return images


def sim_crops(crops_dir: Path | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Decoded crops of a ``smartcart sim crops`` folder and their fine class ids (none: empty)."""
    if crops_dir is None:
        return [], np.zeros(0, np.int64)
    from smartcart.catalog import default_catalog
    from smartcart.crops import read_labels

    catalog = default_catalog()
    rows = read_labels(crops_dir)
    unknown = {sku for _, sku in rows if sku not in catalog}
    if unknown:
        raise GroceryDataError(f"{crops_dir}: SKUs not in the catalog: {sorted(unknown)[:5]}")
    samples = [Sample(p, catalog[sku].class_id, -1) for p, sku in rows]
    return decode_all(samples, "decode sim"), np.array([s.fine_id for s in samples], np.int64)
