"""``smartcart cart record``: write a cartfeed/1 feed from the live camera and scale.

The one place the cart stores images, and only when a person runs this command. Output follows
docs/feed-format.md: ``video.avi`` (MJPEG, what every OpenCV build reads), ``frames.csv`` with
each frame's sensor time from the first frame, ``scale.csv`` with net grams, ``meta.json`` with
the cart's basket polygon. No ``truth.jsonl``: a person labels a recorded feed afterwards.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2

from firmware.camera.open import open_camera
from firmware.config import CartConfig
from firmware.errors import FirmwareError
from firmware.scale.open import open_scale


def record_feed(cfg: CartConfig, out: Path, seconds: float) -> int:
    """Record for ``seconds``; returns the number of frames written."""
    out.mkdir(parents=True, exist_ok=False)  # never overwrite an earlier recording
    camera = open_camera(cfg.camera)
    scale = open_scale(cfg.scale)
    writer: cv2.VideoWriter | None = None
    t0_ns: int | None = None
    n = 0
    size: tuple[int, int] = (0, 0)
    try:
        with (
            (out / "frames.csv").open("w", newline="") as ff,
            (out / "scale.csv").open("w", newline="") as sf,
        ):
            frames_csv, scale_csv = csv.writer(ff), csv.writer(sf)
            frames_csv.writerow(["frame_index", "t"])
            scale_csv.writerow(["t", "grams"])
            for frame in camera.frames():
                if t0_ns is None:
                    t0_ns = frame.ts_ns
                    h, w = frame.main_bgr.shape[:2]
                    size = (w, h)
                    fourcc = cv2.VideoWriter_fourcc(*"MJPG")
                    writer = cv2.VideoWriter(str(out / "video.avi"), fourcc, cfg.camera.fps, size)
                    if not writer.isOpened():
                        raise FirmwareError(f"{out}: OpenCV cannot write MJPEG video")
                t_s = (frame.ts_ns - t0_ns) / 1e9
                assert writer is not None
                writer.write(frame.main_bgr)
                frames_csv.writerow([n, f"{t_s:.4f}"])
                n += 1
                for s in scale.drain() if scale is not None else ():
                    scale_csv.writerow([f"{s.t_s - t0_ns / 1e9:.4f}", f"{s.grams:.1f}"])
                if t_s >= seconds:
                    break
    finally:
        camera.close()
        if scale is not None:
            scale.close()
        if writer is not None:
            writer.release()
    meta = {
        "format": "cartfeed/1",
        "cart_id": cfg.cart_id,
        "fps": cfg.camera.fps,
        "width": size[0],
        "height": size[1],
        "basket_polygon": [list(p) for p in cfg.basket.polygon],
        "catalog": "grocery-store/81",
        "source": "recorded",
        "notes": f"smartcart cart record, {cfg.camera.type} camera",
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return n
