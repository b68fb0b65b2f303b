"""Recognizer training crops from the simulator: product crops as the cart would cut them.

The cart names an item from crops of the full-resolution frame around the detector's box
(``firmware.basket.naming.crop_main``). A recognizer trained only on close-up phone photos sees
those small, rotated, shadowed, partly hidden products as a new domain; these crops close that
gap for the simulated store. Each comes from a ``trainset`` scene (harder than any feed), passes
through JPEG as a feed's video does, and is cut around its true visible box jittered by up to
``BOX_JITTER`` of its size per side (the detector is not exact), then padded as the cart pads.

Layout (``smartcart.crops``): ``images/NNNNNN_K.jpg`` and ``labels.csv`` (``file,sku``). Scene
*i* uses its own RNG seeded by ``(seed, i)``, so a set is reproducible and the seed says which
scenes it holds: use seeds the evaluation feeds never use.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm  # type: ignore[import-untyped]

from firmware.basket.naming import crop_main
from host.sim.cutouts import load_cutouts
from host.sim.errors import SimError
from host.sim.trainset import PRODUCT, render_sample
from smartcart.catalog import default_catalog
from smartcart.crops import write_labels

BOX_JITTER = 0.1
MIN_VISIBLE = 0.5  # the cart votes over its best crops, where little of the item is hidden
MIN_SIDE_PX = 16


def scene_crops(seed: int, index: int, size_px: tuple[int, int]) -> list[tuple[np.ndarray, str]]:
    """The product crops (BGR, sku) of scene ``index``."""
    rng = np.random.default_rng([seed, index, 2])
    sample = render_sample(np.random.default_rng([seed, index]), load_cutouts(),
                           default_catalog(), size_px)  # fmt: skip
    quality = int(rng.integers(50, 96))
    ok, jpg = cv2.imencode(".jpg", sample.bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SimError(f"cannot encode scene {index}")
    frame = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
    out = []
    for box in sample.boxes:
        if box.cls != PRODUCT or box.sku is None or box.visible < MIN_VISIBLE:
            continue
        x0, y0, x1, y1 = box.xyxy_px
        w, h = x1 - x0, y1 - y0
        if min(w, h) < MIN_SIDE_PX:
            continue
        j = rng.uniform(-BOX_JITTER, BOX_JITTER, 4) * (w, h, w, h)
        jittered = (x0 + j[0], y0 + j[1], x1 + j[2], y1 + j[3])
        crop = crop_main(frame, jittered, (1.0, 1.0))
        if crop is not None:
            out.append((crop, box.sku))
    return out


def _write_scenes(
    out_dir: Path, seed: int, indices: range, size_px: tuple[int, int]
) -> list[tuple[str, str]]:
    rows = []
    for i in indices:
        for k, (crop, sku) in enumerate(scene_crops(seed, i, size_px)):
            name = f"{i:06d}_{k}.jpg"
            ok, jpg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 92])
            if not ok:
                raise SimError(f"cannot encode crop {name}")
            (out_dir / "images" / name).write_bytes(jpg.tobytes())
            rows.append((name, sku))
    return rows


def generate(
    out_dir: Path,
    scenes: int,
    seed: int,
    *,
    size_px: tuple[int, int] = (640, 480),
    workers: int = 1,
    progress: bool = True,
) -> Path:
    """Write the crops of ``scenes`` scenes under ``out_dir``; returns ``labels.csv``'s path."""
    if scenes <= 0 or workers <= 0:
        raise SimError("scenes and workers must be positive")
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    load_cutouts()  # made (and cached on disk) once, before any worker starts
    chunks = [range(i, min(scenes, i + 32)) for i in range(0, scenes, 32)]
    rows: list[tuple[str, str]] = []
    with tqdm(total=scenes, desc="crops", unit="scene", disable=not progress) as bar:
        if workers == 1:
            for chunk in chunks:
                rows += _write_scenes(out_dir, seed, chunk, size_px)
                bar.update(len(chunk))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                jobs = [pool.submit(_write_scenes, out_dir, seed, c, size_px) for c in chunks]
                for chunk, job in zip(chunks, jobs, strict=True):  # in order: a stable file
                    rows += job.result()
                    bar.update(len(chunk))
    return write_labels(out_dir, rows)
