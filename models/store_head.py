"""Fit a store head (``firmware.vision.store_head``) on labelled crops from the store's carts.

The recognizer network stays as shipped: its embeddings of the crops are computed once through
the cart's own preprocessing and ONNX Runtime, and a linear softmax classifier is fitted on them
(full batch, AdamW, label smoothing; seconds of CPU for tens of thousands of crops). The blend
with the model's own scores is chosen on a second, separate set of crops.

For the simulated demo store the crops come from ``smartcart sim crops`` (seeds the evaluation
feeds never use); a real store labels crops from ``smartcart cart record`` feeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firmware.vision.preprocess import crop_to_chw
from firmware.vision.recognizer import Recognizer
from firmware.vision.store_head import StoreHead
from models import grocery, manifest

BATCH = 32
# Unit-length embeddings need large logits: the head sees embedding x INPUT_SCALE, so weight decay
# acts on weights of order one.
INPUT_SCALE = 10.0
HEAD_FILE = "store-head.npz"
BLENDS = tuple(round(0.1 * i, 1) for i in range(11))


@dataclass(frozen=True)
class Embedded:
    probs: np.ndarray  # (N, C) the recognizer's own probabilities
    embeddings: np.ndarray  # (N, D)
    labels: np.ndarray  # (N,) class ids


@dataclass(frozen=True)
class HeadReport:
    train_crops: int
    val_crops: int
    blend: float
    val_top1_model: float  # the recognizer alone
    val_top1_head: float  # the head alone
    val_top1_mixed: float  # what the cart uses


def embed(recognizer: Recognizer, crops_dirs: Sequence[Path]) -> Embedded:
    """The recognizer's probabilities and embeddings of every crop in ``crops_dirs``."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    probs, embs, labels = [], [], []
    for crops_dir in crops_dirs:
        images, y = grocery.sim_crops(crops_dir)
        for i in tqdm(range(0, len(images), BATCH), desc=f"embed {crops_dir.name}", leave=False):
            chunk = images[i : i + BATCH]
            batch = np.stack([crop_to_chw(c, recognizer.input_size_px) for c in chunk])
            p, e = recognizer.run(batch)
            probs.append(p)
            embs.append(e.astype(np.float32))
        labels.append(y)
    return Embedded(np.concatenate(probs), np.concatenate(embs), np.concatenate(labels))


def fit_linear(
    embeddings: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    steps: int = 300,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: (weights (C, D), bias (C,)) on raw embeddings."""
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(np.ascontiguousarray(embeddings, np.float32)) * INPUT_SCALE
    y = torch.from_numpy(labels.astype(np.int64))
    layer = torch.nn.Linear(x.shape[1], n_classes)
    opt = torch.optim.AdamW(layer.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(x), y, label_smoothing=0.1)
        loss.backward()
        opt.step()
    weights = layer.weight.detach().numpy() * INPUT_SCALE
    return weights.astype(np.float32), layer.bias.detach().numpy().astype(np.float32)


def choose_blend(model_probs: np.ndarray, head_probs: np.ndarray, labels: np.ndarray) -> float:
    """The blend with the best top-1 on held-out crops; ties go to the smaller blend."""
    scores = [
        float((((1 - a) * model_probs + a * head_probs).argmax(1) == labels).mean()) for a in BLENDS
    ]
    return BLENDS[int(np.argmax(scores))]  # argmax returns the first, i.e. smallest, best


def fit_store_head(
    train_dirs: Sequence[Path], val_dir: Path, threads: int = 2
) -> tuple[StoreHead, HeadReport]:
    """A head for the manifest's recognizer (fp32) fitted on ``train_dirs``' crops, its blend
    chosen on ``val_dir``'s."""
    entry = manifest.entry("recognizer")
    recognizer = Recognizer(manifest.load("recognizer", "fp32"), entry.labels, threads)
    train = embed(recognizer, train_dirs)
    val = embed(recognizer, [val_dir])
    weights, bias = fit_linear(train.embeddings, train.labels, len(entry.labels))
    head = StoreHead(entry.labels, weights, bias, 1.0, entry.sha256["fp32"])
    head_probs = head.mix(val.probs, val.embeddings)  # blend 1: the head alone
    blend = choose_blend(val.probs, head_probs, val.labels)
    head = StoreHead(entry.labels, weights, bias, blend, entry.sha256["fp32"])

    def top1(p: np.ndarray) -> float:
        return round(float((p.argmax(1) == val.labels).mean()), 4)

    report = HeadReport(
        train_crops=len(train.labels),
        val_crops=len(val.labels),
        blend=blend,
        val_top1_model=top1(val.probs),
        val_top1_head=top1(head_probs),
        val_top1_mixed=top1(head.mix(val.probs, val.embeddings)),
    )
    return head, report


def release(head: StoreHead, report: HeadReport) -> Path:
    """Write the head beside the manifest and name it there as the cart's default."""
    from dataclasses import asdict

    path = manifest.MODELS_DIR / HEAD_FILE
    head.save(path)
    recognizer = manifest.raw_record("recognizer")
    manifest.write_model(
        "store-head",
        {
            "version": recognizer["version"],
            "task": "the demo store's head over the recognizer's embedding, mixed into its "
            "scores (firmware.vision.store_head)",
            "variants": {"fp32": {"file": HEAD_FILE, "sha256": manifest.sha256_of(path)}},
            "input": {"name": "embedding", "shape": recognizer["outputs"]["embedding"]},
            "outputs": {"probs": ["batch", len(head.labels)]},
            "metrics": {"split": "simulator crops", **asdict(report)},
        },
    )
    return path
