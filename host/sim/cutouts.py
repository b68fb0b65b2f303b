"""Product cut-outs: each catalog product's iconic image as BGRA with a soft alpha mask.

The iconic images are 198x198 JPEGs of one product on a white background. The background is
the white region connected to the image border; a Canny edge barrier stops that flood from
leaking into white products (milk cartons, garlic) whose own white touches the background, and
holes inside the product are filled so white labels stay opaque. The mask is eroded by a pixel
before feathering so the JPEG's white fringe does not show as a halo on dark floors.

Cut-outs are cached as PNG under ``~/.cache/smartcart/cutouts/<version>/`` (never committed);
bump ``_VERSION`` when the masking changes.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from host.sim.errors import CutoutError
from smartcart.catalog import Catalog, default_catalog
from smartcart.dataset import cache_dir, dataset_root

_VERSION = "v2"
_WHITE_TOLERANCE = 14  # a background pixel is within this of pure white on every channel
_MIN_PART_SHARE = 0.02  # drop specks smaller than this share of the largest part


@dataclass(frozen=True)
class Cutout:
    sku: str
    bgra: np.ndarray  # uint8 HxWx4, cropped to the product, alpha soft at the edge

    @property
    def size_px(self) -> tuple[int, int]:
        return self.bgra.shape[1], self.bgra.shape[0]


def cutout_dir() -> Path:
    return cache_dir() / "cutouts" / _VERSION


def iconic_paths(catalog: Catalog | None = None) -> dict[str, Path]:
    """SKU -> iconic image path, joined on the dataset's class id."""
    catalog = catalog or default_catalog()
    dataset = dataset_root() / "dataset"
    by_class: dict[int, Path] = {}
    with (dataset / "classes.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rel = row["Iconic Image Path (str)"].lstrip("/")
            by_class[int(row["Class ID (int)"])] = dataset / rel
    missing = [p.sku for p in catalog.values() if p.class_id not in by_class]
    if missing:
        raise CutoutError(f"no iconic image for {', '.join(missing)}")
    return {p.sku: by_class[p.class_id] for p in catalog.values()}


def foreground_mask(bgr: np.ndarray) -> np.ndarray:
    """Binary (0/255) mask of the product in an iconic image on a white background."""
    h, w = bgr.shape[:2]
    near_white = (255 - bgr.min(axis=2)) < _WHITE_TOLERANCE
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    edges = cv2.dilate(cv2.Canny(gray, 20, 60), np.ones((3, 3), np.uint8))
    candidate = (near_white & (edges == 0)).astype(np.uint8)
    # A 1-px white frame joins every border-touching background region into one component.
    padded = cv2.copyMakeBorder(candidate, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=1)
    _, labels = cv2.connectedComponents(padded, connectivity=4)
    background = (labels == labels[0, 0])[1:-1, 1:-1]
    fg = (~background).astype(np.uint8) * 255
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        raise CutoutError("no foreground found")
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= _MIN_PART_SHARE * areas.max())
    fg = np.isin(labels, keep).astype(np.uint8) * 255
    # Fill holes: anything not reachable from the border through background is product.
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros((h, w), np.uint8)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled


def make_cutout(sku: str, bgr: np.ndarray, *, convex: bool = False) -> Cutout:
    """``convex`` for cartons: their white panels still leak in places (a bite out of a side,
    ragged edges), and a carton seen from any side is convex, so its hull is the honest mask."""
    mask = foreground_mask(bgr)
    if convex:
        hull = cv2.convexHull(cv2.findNonZero(mask))
        mask = cv2.fillConvexPoly(np.zeros_like(mask), hull, 255)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    alpha = cv2.GaussianBlur(mask, (0, 0), sigmaX=1.0)
    ys, xs = np.nonzero(alpha > 8)
    if len(xs) == 0:
        raise CutoutError(f"{sku}: mask is empty after erosion")
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    bgra = np.dstack([bgr, alpha])[y0:y1, x0:x1]
    return Cutout(sku, np.ascontiguousarray(bgra))


def _load_or_make(sku: str, source: Path, cached: Path, *, convex: bool) -> Cutout:
    if cached.is_file():
        bgra = cv2.imread(str(cached), cv2.IMREAD_UNCHANGED)
        if bgra is not None and bgra.ndim == 3 and bgra.shape[2] == 4:
            return Cutout(sku, bgra)
    bgr = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if bgr is None:
        raise CutoutError(f"{sku}: cannot read {source}")
    cut = make_cutout(sku, bgr, convex=convex)
    cached.parent.mkdir(parents=True, exist_ok=True)
    # A name of this process's own: two processes making the same cut-out at once each write
    # their own file, and the atomic replace means no reader ever sees half a PNG.
    tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.png")
    cv2.imwrite(str(tmp), cut.bgra)
    tmp.replace(cached)
    return cut


@cache
def load_cutouts() -> Mapping[str, Cutout]:
    """All catalog products' cut-outs, made once and cached on disk."""
    out, catalog = cutout_dir(), default_catalog()
    return {
        sku: _load_or_make(
            sku, path, out / f"{sku}.png", convex=catalog[sku].department == "Packages"
        )
        for sku, path in iconic_paths(catalog).items()
    }


def contact_sheet(
    cutouts: Mapping[str, Cutout], *, cols: int = 9, cell_px: int = 140
) -> np.ndarray:
    """A BGR sheet of every cut-out on a checkerboard (to show the alpha), SKU underneath."""
    rows = -(-len(cutouts) // cols)
    label_px = 14
    sheet = np.full((rows * (cell_px + label_px), cols * cell_px, 3), 255, np.uint8)
    check = (np.indices((cell_px, cell_px)).sum(axis=0) // 10 % 2).astype(np.float32)
    board = np.where(check[..., None] > 0, (90, 60, 40), (40, 90, 60)).astype(np.float32)
    for i, (sku, cut) in enumerate(cutouts.items()):
        r, c = divmod(i, cols)
        h, w = cut.bgra.shape[:2]
        k = (cell_px - 6) / max(h, w)
        sprite = cv2.resize(cut.bgra, (max(1, round(w * k)), max(1, round(h * k))))
        cell = board.copy()
        sh, sw = sprite.shape[:2]
        y, x = (cell_px - sh) // 2, (cell_px - sw) // 2
        a = sprite[..., 3:4].astype(np.float32) / 255
        roi = cell[y : y + sh, x : x + sw]
        roi[:] = roi * (1 - a) + sprite[..., :3] * a
        y0, x0 = r * (cell_px + label_px), c * cell_px
        sheet[y0 : y0 + cell_px, x0 : x0 + cell_px] = cell.astype(np.uint8)
        cv2.putText(
            sheet,
            sku[:22],
            (x0 + 2, y0 + cell_px + 11),
            cv2.FONT_HERSHEY_PLAIN,
            0.75,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return sheet
