"""Evaluate the exported recognizer with ONNX Runtime (no torch): what CI and the model card use.

Fine top-k: the true product among the k most probable. Coarse top-k: the true coarse class
(Apple, Milk, ...) among the coarse classes of the k most probable products, i.e. "was the cart
at least looking at the right kind of thing". Crops go through ``firmware.vision.preprocess``,
the cart's own code path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from firmware.vision.preprocess import crop_to_chw
from firmware.vision.recognizer import Recognizer
from models import grocery, manifest

BATCH = 32


@dataclass(frozen=True)
class RecognizerReport:
    variant: str
    images: int
    fine_top1: float
    fine_top5: float
    coarse_top1: float
    coarse_top5: float
    confused: tuple[tuple[str, str, int], ...]  # (true name, predicted name, count), worst first

    def as_dict(self) -> dict[str, float | int]:
        return {
            "images": self.images,
            "fine_top1": round(self.fine_top1, 4),
            "fine_top5": round(self.fine_top5, 4),
            "coarse_top1": round(self.coarse_top1, 4),
            "coarse_top5": round(self.coarse_top5, 4),
        }


def predict_probs(
    model_path: Path, labels: tuple[str, ...], images: list[np.ndarray]
) -> np.ndarray:
    rec = Recognizer(model_path, labels, threads=2)
    out = []
    for i in tqdm(range(0, len(images), BATCH), desc=model_path.name, leave=False):
        batch = np.stack([crop_to_chw(im, rec.input_size_px) for im in images[i : i + BATCH]])
        out.append(rec.run(batch)[0])
    return np.concatenate(out)


def report(
    variant: str, probs: np.ndarray, fine: np.ndarray, top_confused: int = 10
) -> RecognizerReport:
    to_coarse = grocery.fine_to_coarse()
    names = [c.name for c in grocery.classes()]
    top5 = np.argsort(-probs, axis=1)[:, :5]
    pred = top5[:, 0]
    coarse = to_coarse[fine]
    pairs = Counter((names[t], names[p]) for t, p in zip(fine, pred, strict=True) if t != p)
    return RecognizerReport(
        variant=variant,
        images=len(fine),
        fine_top1=float((pred == fine).mean()),
        fine_top5=float((top5 == fine[:, None]).any(1).mean()),
        coarse_top1=float((to_coarse[pred] == coarse).mean()),
        coarse_top5=float((to_coarse[top5] == coarse[:, None]).any(1).mean()),
        confused=tuple((t, p, n) for (t, p), n in pairs.most_common(top_confused)),
    )


def evaluate_recognizer(
    split: str = "test", variants: tuple[manifest.Variant, ...] = ("fp32", "int8")
) -> tuple[dict[str, RecognizerReport], float]:
    """Reports per variant, and the share of images where int8 and fp32 agree on top-1."""
    entry = manifest.entry("recognizer")
    samples = grocery.split(split)
    images = grocery.decode_all(samples, f"decode {split}")
    fine = np.array([s.fine_id for s in samples])
    probs = {v: predict_probs(manifest.verify(entry, v), entry.labels, images) for v in variants}
    agreement = float("nan")
    if "fp32" in probs and "int8" in probs:
        agreement = float((probs["fp32"].argmax(1) == probs["int8"].argmax(1)).mean())
    return {v: report(v, p, fine) for v, p in probs.items()}, agreement


def evaluate_recognizer_cli(record: bool) -> dict:
    """Print test-split figures (fp32, int8, agreement, confusions); optionally record them."""
    import json

    reports, agreement = evaluate_recognizer("test")
    metrics: dict = {"split": "test", "int8_fp32_top1_agreement": round(agreement, 4)}
    for variant, rep in reports.items():
        metrics[variant] = rep.as_dict()
        print(f"{variant}: {json.dumps(rep.as_dict())}")
    print(f"int8 vs fp32 top-1 agreement: {agreement:.4f}")
    print("most confused, fp32 (true -> predicted: count):")
    for true, pred, n in reports["fp32"].confused:
        print(f"  {true} -> {pred}: {n}")
    metrics["most_confused_fp32"] = [list(c) for c in reports["fp32"].confused]
    if record:
        manifest.set_metrics("recognizer", metrics)
    return metrics
