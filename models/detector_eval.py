"""Evaluate the committed detector with ONNX Runtime on rendered frames (no torch).

The frames come from ``smartcart sim trainset`` with a seed never used for training (1000 by
default), rendered at the cart's lores size, and go through ``firmware.vision.detector.Detector``
exactly as on the cart (letterbox, decode, NMS; with ``views``, the flipped views and their
fusion), at a low score threshold so AP sees the whole precision/recall curve. The cart's default
is the frame alone; ``TTA_VIEWS`` is reported beside it.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware.vision.detector import SINGLE_VIEW, TTA_VIEWS, Detector, Flip
from firmware.vision.types import DetectionClass
from models import manifest
from models.detection_metrics import average_precision
from models.detector_data import read_yolo

EVAL_SEED = 1000
EVAL_SIZE_WH_PX = (320, 240)
AP_SCORE_THRESHOLD = 0.05


@dataclass(frozen=True)
class DetectorReport:
    variant: str
    frames: int
    product_ap50: float
    hand_ap50: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "frames": self.frames,
            "product_ap50": round(self.product_ap50, 4),
            "hand_ap50": round(self.hand_ap50, 4),
        }


def render_eval_set(out_dir: Path, frames: int, seed: int = EVAL_SEED) -> Path:
    from host.sim.trainset import generate

    generate(out_dir, frames, seed, size_px=EVAL_SIZE_WH_PX, progress=False)
    return out_dir


def evaluate_on(
    folder: Path, variant: manifest.Variant, views: tuple[Flip, ...] = SINGLE_VIEW
) -> DetectorReport:
    entry = manifest.entry("detector")
    detector = Detector(
        manifest.verify(entry, variant),
        threads=2,
        score_threshold=AP_SCORE_THRESHOLD,
        views=views,
    )
    height, width = detector.input_hw_px
    # Frames are read at their own size: Detector letterboxes them like the cart does.
    samples = read_yolo(folder, ("train", "val"), EVAL_SIZE_WH_PX)
    predictions = []
    for s in samples:
        frame_bgr = np.ascontiguousarray(s.chw.transpose(1, 2, 0)[:, :, ::-1]).astype(np.uint8)
        predictions.append(detector.detect(frame_bgr))
    truths = [(s.xyxy_px, s.class_ids) for s in samples]
    return DetectorReport(
        variant,
        len(samples),
        average_precision(predictions, truths, DetectionClass.PRODUCT.value),
        average_precision(predictions, truths, DetectionClass.HAND.value),
    )


def evaluate_detector(
    frames: int = 200,
    folder: Path | None = None,
    variants: tuple[manifest.Variant, ...] = ("fp32", "int8"),
    views: tuple[Flip, ...] = SINGLE_VIEW,
) -> dict[str, DetectorReport]:
    if folder is not None and folder.is_dir():
        return {v: evaluate_on(folder, v, views) for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        render_eval_set(Path(tmp), frames)
        return {v: evaluate_on(Path(tmp), v, views) for v in variants}


CI_FRAMES = 40  # tests/models/test_accuracy.py renders this many (the same first frames)


def evaluate_detector_cli(record: bool, frames: int = 200, folder: Path | None = None) -> dict:
    """The cart's detector (the frame alone) per variant, the same frames with the flipped views
    fused beside it, and the CI subset; ``record`` writes them into the manifest's metrics."""
    with tempfile.TemporaryDirectory() as tmp:
        if folder is None or not folder.is_dir():
            folder = render_eval_set(Path(tmp), frames)
        reports = evaluate_detector(frames, folder)
        tta = evaluate_detector(frames, folder, views=TTA_VIEWS)
    for variant, rep in reports.items():
        print(f"{variant}: {json.dumps(rep.as_dict())}")
        print(f"{variant} ({len(TTA_VIEWS)} views fused): {json.dumps(tta[variant].as_dict())}")
    ci = evaluate_detector(CI_FRAMES, variants=("int8",))["int8"]
    print(f"CI subset (first {CI_FRAMES} frames, int8): product AP50 {ci.product_ap50:.4f}")
    metrics = {
        "eval_seed": EVAL_SEED,
        **{v: r.as_dict() for v, r in reports.items()},
        "tta": {
            "views": [list(flip) for flip in TTA_VIEWS],  # (horizontal, vertical) flips
            **{v: r.as_dict() for v, r in tta.items()},
        },
        "ci_subset": {"frames": CI_FRAMES, "int8_product_ap50": round(ci.product_ap50, 4)},
    }
    if record:
        manifest.set_metrics("detector", metrics)
    return metrics
