"""From training runs to the committed recognizer: choose on val, export, merge, quantise, record.

A *member* is one training run exported to ONNX: ``choose`` picks its epoch on val (the best
logged val score) and ``export_member`` writes it, checked against PyTorch. The committed model
is an ensemble of members (``models.ensemble``): ``choose_ensemble`` compares every subset of the
members at several input sizes on val only, through ONNX Runtime and the cart's preprocessing,
and ``release_ensemble`` writes the choice to ``models/recognizer-fp32.onnx`` and ``-int8.onnx``
with its manifest record. Test figures are added afterwards by ``smartcart models evaluate``.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F

from firmware.vision.preprocess import crop_to_chw
from models import grocery, manifest
from models.ensemble import merge
from models.export import (
    RECOGNIZER_INT8,
    ExportError,
    check_against_torch,
    export_fp32,
    quantize_int8,
)
from models.recognizer_net import RecognizerNet
from models.train_recognizer import predict, top1
from smartcart.catalog import default_catalog

CALIBRATION_IMAGES = 256
EMBEDDING_DIM = 1280  # EfficientNet-Lite0's pooled features, per member
VERSION = "1.4.0"
# Sizes tried at release: a net trained on random-resized crops at 224 px sees objects larger
# than a whole photo shows them, so it is often better evaluated at a larger size ("FixRes").
RELEASE_SIZES_PX = (224, 256, 288, 320)


@dataclass(frozen=True)
class Choice:
    checkpoint: Path
    size_px: int
    val_top1: float


class ExportedRecognizer(torch.nn.Module):
    """What a member's ONNX graph computes: logits and an L2-normalised embedding."""

    def __init__(self, net: RecognizerNet) -> None:
        super().__init__()
        self.net = net.eval()

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, _ = self.net(image)
        return logits, F.normalize(self.net.pooled(image), dim=1)


def load_net(checkpoint: Path) -> RecognizerNet:
    net = RecognizerNet(len(grocery.classes()))
    net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    return net.eval()


def choose(run_dir: Path, candidates: int = 1) -> tuple[Choice, list[dict]]:
    """A run's best logged epoch(s), re-scored on val at the run's training size."""
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    size = json.loads((run_dir / "config.json").read_text())["size_px"]
    # Prefer later epochs on ties: the EMA keeps improving as the learning rate anneals.
    ranked = sorted(history, key=lambda r: (r["val_top1_ema"], r["epoch"]), reverse=True)
    val = grocery.split("val")
    images = grocery.decode_all(val, "decode val")
    labels = np.array([s.fine_id for s in val])
    table: list[dict] = []
    options: list[Choice] = []
    for record in ranked[:candidates]:
        ckpt = run_dir / f"ema_epoch{record['epoch']:02d}.pt"
        acc = top1(predict(load_net(ckpt), images, size), labels)
        table.append({"epoch": record["epoch"], "size_px": size, "val": acc})
        options.append(Choice(ckpt, size, acc))
    return max(options, key=lambda o: o.val_top1), table


def calibration_batches(size_px: int, seed: int = 0) -> list[np.ndarray]:
    train = grocery.split("train")
    rng = np.random.default_rng(seed)
    picked = [train[i] for i in rng.choice(len(train), CALIBRATION_IMAGES, replace=False)]
    images = grocery.decode_all(picked, "decode calibration")
    chw = np.stack([crop_to_chw(im, size_px) for im in images])
    return [chw[i : i + 16] for i in range(0, len(chw), 16)]


def export_member(run_dir: Path, out_path: Path) -> Path:
    """A run's val-chosen epoch -> ONNX (logits + embedding), checked against PyTorch."""
    torch.set_num_threads(2)
    choice, _ = choose(run_dir)
    model = ExportedRecognizer(load_net(choice.checkpoint))
    size = choice.size_px
    path = export_fp32(model, torch.zeros(1, 3, size, size), out_path, ("logits", "embedding"))
    check_against_torch(model, path, calibration_batches(size)[0], atol=1e-2)
    return path


@dataclass(frozen=True)
class EnsembleChoice:
    members: tuple[Path, ...]
    size_px: int
    val_top1: float


def _logits(session: ort.InferenceSession, images: list[np.ndarray], size: int) -> np.ndarray:
    out = []
    for i in range(0, len(images), 32):
        batch = np.stack([crop_to_chw(im, size) for im in images[i : i + 32]])
        out.append(session.run(["logits"], {"image": batch})[0])
    return np.concatenate(out)


def choose_ensemble(
    members: Sequence[Path], sizes: Sequence[int] = RELEASE_SIZES_PX
) -> tuple[EnsembleChoice, list[dict]]:
    """Every non-empty subset of ``members`` at every size, scored on val (mean logits)."""
    val = grocery.split("val")
    images = grocery.decode_all(val, "decode val")
    labels = np.array([s.fine_id for s in val])
    logits: dict[tuple[int, int], np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m, path in enumerate(members):
            for size in sizes:
                resized = merge([path], Path(tmp) / f"m{m}-{size}.onnx", size)
                session = ort.InferenceSession(str(resized), providers=["CPUExecutionProvider"])
                logits[m, size] = _logits(session, images, size)
    table: list[dict] = []
    options: list[EnsembleChoice] = []
    for k in range(1, len(members) + 1):
        for subset in itertools.combinations(range(len(members)), k):
            for size in sizes:
                mean = sum(logits[m, size] for m in subset) / k
                acc = float((mean.argmax(1) == labels).mean())
                names = [members[m].name for m in subset]
                table.append({"members": names, "size_px": size, "val": round(acc, 4)})
                options.append(EnsembleChoice(tuple(members[m] for m in subset), size, acc))
    # Val has 296 photos: one photo is 0.34 points. Among the options within one photo of the
    # best, ship the cheapest on the cart (members x pixels), so noise does not buy latency.
    best = max(o.val_top1 for o in options)
    near = [o for o in options if o.val_top1 >= best - 1.5 / len(labels)]
    cheapest = min(near, key=lambda o: (len(o.members) * o.size_px**2, -o.val_top1))
    return cheapest, table


def release_ensemble(choice: EnsembleChoice, out_dir: Path = manifest.MODELS_DIR) -> dict:
    """Merge the chosen members into the committed fp32 graph, quantise it, write the record."""
    size = choice.size_px
    fp32 = merge(choice.members, out_dir / "recognizer-fp32.onnx", size)
    batches = calibration_batches(size)
    int8 = quantize_int8(fp32, out_dir / "recognizer-int8.onnx", iter(batches), **RECOGNIZER_INT8)
    # The merged graph must compute exactly the members' mean (ORT against ORT).
    with tempfile.TemporaryDirectory() as tmp:
        alone = [
            ort.InferenceSession(str(merge([m], Path(tmp) / f"{i}.onnx", size)))
            for i, m in enumerate(choice.members)
        ]
        want = sum(s.run(["logits"], {"image": batches[0]})[0] for s in alone) / len(alone)
    got = ort.InferenceSession(str(fp32)).run(["logits"], {"image": batches[0]})[0]
    max_diff = float(np.abs(got - want).max())
    if max_diff > 1e-3:
        raise ExportError(f"merged recognizer differs from its members' mean by {max_diff:.2e}")
    labels = [p.sku for p in default_catalog().by_class_id()]
    record = {
        "version": VERSION,
        "task": "product recognition: logits over the catalog + L2-normalised embedding",
        "variants": {
            v: {"file": p.name, "sha256": manifest.sha256_of(p)}
            for v, p in (("fp32", fp32), ("int8", int8))
        },
        "input": {
            "name": "image",
            "shape": ["batch", 3, size, size],
            "dtype": "float32",
            "layout": "NCHW",
            "color": "RGB",
            "range": [0, 255],
            "preprocess": "firmware.vision.preprocess.crop_to_chw (whole crop resized)",
        },
        "outputs": {
            "logits": ["batch", len(labels)],
            "embedding": ["batch", EMBEDDING_DIM * len(choice.members)],
        },
        "labels": labels,
        "training": {
            "members": [m.name for m in choice.members],
            "val_top1": round(choice.val_top1, 4),
            "merged_vs_members_max_abs_diff": max_diff,
            "int8_recipe": "models.export.RECOGNIZER_INT8: GPTQ weight rounding, stem + blocks "
            "0-3 (12 convs per member) and the tail in fp32",
        },
        "metrics": {},
    }
    manifest.write_model("recognizer", record)
    return record
