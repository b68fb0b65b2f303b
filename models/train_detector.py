"""Train the basket detector on the simulator's frames (CPU, reproducible from a seed).

Losses: CenterNet's penalty-reduced focal loss on the heatmap (normalised by the number of
objects) and GIoU on the boxes of the cells near each centre (TTFNet weighting). Augmentation:
horizontal and vertical flips (the camera looks down into the basket); the simulator already
randomises lighting, blur, noise and JPEG quality per frame. An EMA of the weights is evaluated
(mAP@0.5 for products on the set's own val split) and saved every epoch.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from firmware.vision.detector import decode
from firmware.vision.types import DetectionClass, Detections
from models.detection_metrics import average_precision
from models.detector_data import FrameSample, flipped, read_yolo, targets
from models.detector_net import NUM_CLASSES, STRIDE, V1_1, DetectorArch, DetectorNet
from models.train_recognizer import Ema, lr_factor

# The detector's input. The cart's 320 px lores frames are letterboxed up to it: a net run
# larger than the frame finds more (models/README.md, v1.2.0).
INPUT_WH_PX = (384, 288)


@dataclass(frozen=True)
class DetectorTrainConfig:
    data_dir: Path
    out_dir: Path
    epochs: int = 10
    batch: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.5
    box_loss_weight: float = 5.0
    ema_decay: float = 0.998
    seed: int = 0
    threads: int = 2
    arch: DetectorArch = V1_1
    input_wh_px: tuple[int, int] = INPUT_WH_PX

    def __post_init__(self) -> None:
        # Stride 16 is upsampled onto stride 8: an odd stride-8 grid would not line up.
        if any(side % 16 for side in self.input_wh_px):
            raise ValueError(f"input sides must be multiples of 16 px, got {self.input_wh_px}")


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's focal loss (alpha 2, beta 4), summed; divide by the object count outside."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = -torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = -torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - pos)
    return (pos_loss + neg_loss).sum()


def giou_loss(pred_ltrb: torch.Tensor, target_ltrb: torch.Tensor) -> torch.Tensor:
    """1 - GIoU per cell for boxes given as distances from the same centre, shape (N,4)."""
    pl, pt, pr, pb = pred_ltrb.unbind(1)
    tl, tt, tr, tb = target_ltrb.unbind(1)
    inter = (torch.min(pl, tl) + torch.min(pr, tr)) * (torch.min(pt, tt) + torch.min(pb, tb))
    union = (pl + pr) * (pt + pb) + (tl + tr) * (tt + tb) - inter
    hull = (torch.max(pl, tl) + torch.max(pr, tr)) * (torch.max(pt, tt) + torch.max(pb, tb))
    iou = inter / union.clamp(min=1e-6)
    return 1 - (iou - (hull - union) / hull.clamp(min=1e-6))


def batch_tensors(samples: list[FrameSample]) -> dict[str, torch.Tensor]:
    made = [targets(s, NUM_CLASSES, STRIDE) for s in samples]
    return {
        "image": torch.from_numpy(np.stack([s.chw for s in samples])),
        "heatmap": torch.from_numpy(np.stack([m[0] for m in made])),
        "box": torch.from_numpy(np.stack([m[1] for m in made])),
        "weight": torch.from_numpy(np.stack([m[2] for m in made])),
    }


def loss_of(model: DetectorNet, b: dict[str, torch.Tensor], box_weight: float) -> torch.Tensor:
    logits, box = model.raw(b["image"].contiguous(memory_format=torch.channels_last))
    objects = b["heatmap"].eq(1).sum().clamp(min=1)
    hm = focal_loss(logits, b["heatmap"]) / objects
    w = b["weight"]
    mask = w > 0
    pred = box.permute(0, 2, 3, 1)[mask]
    target = b["box"].permute(0, 2, 3, 1)[mask]
    reg = (giou_loss(pred, target) * w[mask]).sum() / w.sum().clamp(min=1e-6)
    return hm + box_weight * reg


@torch.no_grad()
def detect_all(
    model: DetectorNet, samples: list[FrameSample], threshold: float
) -> list[Detections]:
    model.eval()
    out: list[Detections] = []
    for i in range(0, len(samples), 32):
        x = torch.from_numpy(np.stack([s.chw for s in samples[i : i + 32]]))
        heatmap, box = model(x.contiguous(memory_format=torch.channels_last))
        out += [
            decode(h, b, threshold, STRIDE)
            for h, b in zip(heatmap.numpy(), box.numpy(), strict=True)
        ]
    return out


def product_map50(predictions: list[Detections], samples: list[FrameSample]) -> float:
    truths = [(s.xyxy_px, s.class_ids) for s in samples]
    return average_precision(predictions, truths, DetectionClass.PRODUCT.value, 0.5)


def train(cfg: DetectorTrainConfig) -> Path:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    (cfg.out_dir / "config.json").write_text(json.dumps(asdict(cfg), default=str, indent=2))
    train_set = read_yolo(cfg.data_dir, ("train",), cfg.input_wh_px)
    val_set = read_yolo(cfg.data_dir, ("val",), cfg.input_wh_px)

    model = DetectorNet.from_imagenet(cfg.arch)
    model.freeze_prefix()
    model = model.to(memory_format=torch.channels_last)
    model.train()
    ema = Ema(model, cfg.ema_decay)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    for g in opt.param_groups:
        g["base_lr"] = cfg.lr

    steps_per_epoch = len(train_set) // cfg.batch
    total = steps_per_epoch * cfg.epochs
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    step = 0
    t0 = time.monotonic()
    history = (cfg.out_dir / "history.jsonl").open("a")
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(len(train_set))
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            picked = [
                flipped(train_set[i], bool(rng.random() < 0.5), bool(rng.random() < 0.5))
                for i in order[b * cfg.batch : (b + 1) * cfg.batch]
            ]
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * lr_factor(step, total, warmup)
            loss = loss_of(model, batch_tensors(picked), cfg.box_loss_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            opt.step()
            ema.update(model)
            loss_sum += loss.item()
            step += 1
            if step % 20 == 0:
                rate = step * cfg.batch / (time.monotonic() - t0)
                print(f"step {step}/{total} loss {loss.item():.3f} {rate:.1f} img/s", flush=True)
        ap = product_map50(detect_all(ema.model, val_set, 0.05), val_set)
        record = {
            "epoch": epoch + 1,
            "loss": round(loss_sum / steps_per_epoch, 4),
            "val_product_ap50_ema": round(ap, 4) if not math.isnan(ap) else None,
            "elapsed_s": round(time.monotonic() - t0, 1),
        }
        print(json.dumps(record), flush=True)
        history.write(json.dumps(record) + "\n")
        history.flush()
        torch.save(
            copy.deepcopy(ema.model).state_dict(), cfg.out_dir / f"ema_epoch{epoch + 1:02d}.pt"
        )
    return cfg.out_dir
