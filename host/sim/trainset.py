"""Detector training data from the feed renderer: product (class 0) and hand (class 1) boxes.

Each image is an independent random scene, drawn with the same basket, product cut-outs and
hands as the feeds, but randomised harder than any feed: any floor colour and clutter, any basket
colour and placement, products lying outside the basket too, held items at any height, harsh
lighting and colour casts, focus and motion blur, noise, JPEG quality down to 35.

Boxes are tight on the *visible* part of each object (from an object-id map written while
compositing, so later objects and clutter hide earlier ones) and an object less than
``MIN_VISIBLE`` visible (occluded or outside the image) gets no box. Only the hand (palm, fingers,
thumb) is boxed as a hand; the forearm and sleeve are not.

Layout (YOLO / Ultralytics): ``images/{train,val}/NNNNNN.jpg``, ``labels/{train,val}/NNNNNN.txt``
with ``cls cx cy w h`` normalised to 0..1, and ``data.yaml``. Image *i* uses its own RNG seeded by
``(seed, i)``, so any image can be regenerated alone and the set is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml  # type: ignore[import-untyped]
from tqdm import tqdm  # type: ignore[import-untyped]

from host.sim import scene
from host.sim.cutouts import Cutout, load_cutouts
from host.sim.errors import SimError
from smartcart.catalog import Catalog, default_catalog

PRODUCT, HAND = 0, 1
CLASS_NAMES = {PRODUCT: "product", HAND: "hand"}
MIN_VISIBLE = 0.3  # objects hidden by more than ~70% get no box
VAL_EVERY = 10  # every 10th image goes to the validation split


@dataclass(frozen=True)
class Box:
    cls: int
    xyxy_px: tuple[int, int, int, int]  # inclusive-exclusive pixel box of the visible part
    visible: float  # visible share of the object's full area
    sku: str | None = None  # products: which one (for recognizer crops, host/sim/crops.py)

    def yolo_line(self, size_px: tuple[int, int]) -> str:
        w, h = size_px
        x0, y0, x1, y1 = self.xyxy_px
        cx, cy, bw, bh = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h
        return f"{self.cls} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}"


@dataclass(frozen=True)
class Sample:
    bgr: np.ndarray
    boxes: tuple[Box, ...]


def _random_polygon(rng: np.random.Generator) -> tuple[tuple[float, float], ...]:
    grow = rng.uniform(-0.08, 0.08)
    base = np.array(scene.DEFAULT_POLYGON)
    centre = base.mean(axis=0)
    poly = centre + (base - centre) * (1 + grow) + rng.uniform(-0.05, 0.05, (4, 2))
    poly += rng.uniform(-0.06, 0.06, 2)
    return tuple((float(x), float(y)) for x, y in poly)


def _visible_boxes(
    labels: np.ndarray, objects: Mapping[int, tuple[int, int, str | None]]
) -> tuple[Box, ...]:
    """Boxes of the visible part of each object id -> (class, full area px, sku)."""
    boxes = []
    for obj_id, (cls, full_px, sku) in objects.items():
        ys, xs = np.nonzero(labels == obj_id)
        if full_px <= 0 or len(xs) == 0:
            continue
        visible = len(xs) / full_px
        if visible < MIN_VISIBLE:
            continue
        xyxy = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        boxes.append(Box(cls, xyxy, min(1.0, visible), sku))
    return tuple(boxes)


def render_sample(
    rng: np.random.Generator,
    cutouts: Mapping[str, Cutout],
    catalog: Catalog,
    size_px: tuple[int, int] = (640, 480),
) -> Sample:
    """One randomised training image and its boxes."""
    w, h = size_px
    view = scene.BasketView(size_px, _random_polygon(rng))
    frame = scene.store_floor(rng, size_px, wild=rng.random() < 0.45)
    scene.draw_basket(frame, view, scene.BasketStyle.random(rng, wild=rng.random() < 0.3))
    labels = np.zeros((h, w), np.uint8)
    objects: dict[int, tuple[int, int, str | None]] = {}  # id -> (class, area px, sku)
    skus = list(catalog)
    next_id = 1

    def product(u: float, v: float, height: float) -> tuple[np.ndarray, tuple[float, float], str]:
        p = catalog[skus[int(rng.integers(len(skus)))]]
        length = scene.product_length_cm(p) * rng.uniform(0.8, 1.25) * view.px_per_cm(u, v, height)
        sprite = scene.product_sprite(cutouts[p.sku].bgra, length, rng.uniform(0, 360))
        return sprite, view.to_image(u, v, height), p.sku

    # Products at rest: in the basket (later ones on top), and a few on the floor around it.
    n_rest = int(rng.choice([0, 1, 2, 3, 4, 6, 8, 11, 14]))
    for _ in range(n_rest):
        outside = rng.random() < 0.12
        u, v = rng.uniform(-0.5, 1.5, 2) if outside else rng.uniform(0.05, 0.95, 2)
        sprite, centre, sku = product(float(u), float(v), 0.0)
        area = scene.paste(frame, sprite, centre, labels=labels, label_id=next_id,
                           shadow=rng.uniform(0.2, 0.5))  # fmt: skip
        objects[next_id] = (PRODUCT, area, sku)
        next_id += 1
    # Clutter over the items: a receipt, a bag strap, a glove; it hides what it covers.
    for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.35 else 0):
        pts = rng.uniform(0, 1, (int(rng.integers(3, 6)), 2)) * 0.25 + rng.uniform(0, 0.8, 2)
        pts = (pts * (w, h)).astype(np.int32)
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        cv2.fillPoly(frame, [pts], colour, cv2.LINE_AA)
        cv2.fillPoly(labels, [pts], 0)
    # Hands: reaching in empty, or holding a product at some height, maybe moving fast.
    for _ in range(int(rng.choice([0, 1, 1, 1, 2]))):
        layer = np.zeros((h, w, 4), np.uint8)
        u, v = (float(c) for c in rng.uniform(-0.2, 1.2, 2))
        height = float(rng.uniform(0.0, 2.5))
        scale = view.px_per_cm(u, v, height)
        # The arm comes from the bottom (the shopper at the handle) or either side (the shelf).
        angle = float(rng.choice([-math.pi / 2, 0.0, math.pi, -math.pi / 4, -3 * math.pi / 4]))
        angle += float(rng.uniform(-0.5, 0.5))
        holding = rng.random() < 0.6
        grip = float(rng.uniform(0.6, 1.0)) if holding else float(rng.uniform(0.0, 0.5))
        centre = view.to_image(u, v, height)
        reach = scene.hand_reach_px(scale)
        if holding:
            sprite, centre, sku = product(u, v, height)
            area = scene.paste(layer, sprite, centre, labels=labels, label_id=next_id)
            objects[next_id] = (PRODUCT, area, sku)
            next_id += 1
            reach = scene.hand_reach_px(scale, max(sprite.shape[:2]) * rng.uniform(0.5, 1.2))
        wrist = (centre[0] - math.cos(angle) * reach, centre[1] - math.sin(angle) * reach)
        skin, sleeve = scene.random_hand_colours(rng)
        pose = scene.HandPose(wrist, angle, scale, grip, skin, sleeve,
                              sleeve_cm=float(rng.uniform(3, 20)),
                              spread=float(rng.uniform(0.5, 2.0)))  # fmt: skip
        alone = np.zeros((h, w), np.uint8)
        scene.draw_hand_labels(alone, scene.hand_shapes(pose), 1, 0)
        scene.draw_hand(layer, pose, labels=labels, hand_id=next_id + 1, arm_id=next_id)
        objects[next_id + 1] = (HAND, int(np.count_nonzero(alone)), None)
        next_id += 2
        speed = rng.uniform(0, 25) if rng.random() < 0.4 else 0.0
        direction = rng.uniform(0, 2 * math.pi)
        scene.composite_layer(
            frame, layer, (speed * math.cos(direction), speed * math.sin(direction))
        )
    if next_id > 255:
        raise SimError("too many objects for a uint8 label map")
    frame = _camera(rng, frame)
    return Sample(frame, _visible_boxes(labels, objects))


def _camera(rng: np.random.Generator, frame: np.ndarray) -> np.ndarray:
    """Exposure, colour cast, vignette, focus blur and sensor noise, all harsher than feeds."""
    h, w = frame.shape[:2]
    gain = rng.uniform(0.45, 1.5) * rng.uniform(0.8, 1.2, 3)
    out = frame.astype(np.float32) * gain * scene.vignette((w, h), rng.uniform(0, 0.6))
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 2.0))
    out += rng.standard_normal(out.shape).astype(np.float32) * rng.uniform(0, 10)
    image: np.ndarray = np.clip(out, 0, 255).astype(np.uint8)
    return image


def _split(i: int) -> str:
    return "val" if i % VAL_EVERY == VAL_EVERY - 1 else "train"


def write_image(out_dir: Path, seed: int, index: int, size_px: tuple[int, int]) -> int:
    """Render and write image ``index`` of the set (JPEG + label file); returns its box count.

    Depends only on ``(seed, index)``, so images can be written in any order, by any process.
    """
    sample = render_sample(np.random.default_rng([seed, index]), load_cutouts(),
                           default_catalog(), size_px)  # fmt: skip
    name, split = f"{index:06d}", _split(index)
    quality = int(np.random.default_rng([seed, index, 1]).integers(35, 96))
    ok, jpg = cv2.imencode(".jpg", sample.bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SimError(f"cannot encode image {index}")
    (out_dir / "images" / split / f"{name}.jpg").write_bytes(jpg.tobytes())
    lines = [b.yolo_line(size_px) for b in sample.boxes]
    (out_dir / "labels" / split / f"{name}.txt").write_text("".join(f"{x}\n" for x in lines))
    return len(lines)


def _write_chunk(out_dir: Path, seed: int, indices: range, size_px: tuple[int, int]) -> int:
    for i in indices:
        write_image(out_dir, seed, i, size_px)
    return len(indices)


def generate(
    out_dir: Path,
    images: int,
    seed: int = 0,
    *,
    size_px: tuple[int, int] = (640, 480),
    workers: int = 1,
    progress: bool = True,
) -> Path:
    """Write ``images`` samples in YOLO layout under ``out_dir``; returns ``data.yaml``'s path.

    ``workers`` > 1 renders in that many processes; the files are the same either way.
    """
    if images <= 0 or workers <= 0:
        raise SimError("images and workers must be positive")
    out_dir = Path(out_dir)
    for split in ("train", "val"):
        (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
        (out_dir / "labels" / split).mkdir(parents=True, exist_ok=True)
    load_cutouts()  # made (and cached on disk) once, before any worker starts
    bar = tqdm(total=images, desc="trainset", unit="img", disable=not progress)
    if workers == 1:
        for i in range(images):
            write_image(out_dir, seed, i, size_px)
            bar.update()
    else:
        chunk = 32
        with ProcessPoolExecutor(max_workers=workers) as pool:
            jobs = [
                pool.submit(_write_chunk, out_dir, seed, range(i, min(images, i + chunk)), size_px)
                for i in range(0, images, chunk)
            ]
            for job in as_completed(jobs):
                bar.update(job.result())
    bar.close()
    data_yaml = out_dir / "data.yaml"
    data_yaml.write_text(yaml.safe_dump({
        "path": str(out_dir.resolve()),
        "train": "images/train",
        "val": "images/val",
        "nc": len(CLASS_NAMES),
        "names": CLASS_NAMES,
    }, sort_keys=False))  # fmt: skip
    return data_yaml
