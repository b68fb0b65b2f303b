"""Fine-tune the recognizer on the Grocery Store Dataset (CPU, reproducible from a seed).

Recipe (figures in models/README.md): EfficientNet-Lite0 from ImageNet, stem and first five
blocks frozen; progressive resizing (low resolution first, full size for the last epochs); train
split + the 81 iconic images (twice per epoch); random-resized crops, flips, small rotations,
colour jitter, MixUp/CutMix on some batches; label smoothing; AdamW with warmup and cosine decay;
an exponential moving average (EMA) of the weights, which is what gets evaluated.
Val picks the epoch; test is touched only by ``evaluate`` after the choice is made.
Every epoch writes the EMA weights and a line of ``history.jsonl`` to the run folder.
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
import torch.nn.functional as F

from firmware.vision.preprocess import crop_to_chw
from models import grocery
from models.augment import mix_batch, train_view
from models.recognizer_net import RecognizerNet
from models.teacher import Teacher, distill_loss


@dataclass(frozen=True)
class RecognizerTrainConfig:
    out_dir: Path
    size_px: int = 224
    epochs: int = 12
    # Progressive resizing: the first epochs at a lower resolution cost half as much on CPU,
    # the last ones at full size adapt the weights (and BN statistics) to the size we ship.
    low_res_px: int = 160
    low_res_epochs: int = 9
    batch: int = 32
    lr_backbone: float = 5e-4
    lr_head: float = 2e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.1
    mix_prob: float = 0.3  # a short schedule: mixing less often lets the model fit
    ema_decay: float = 0.998
    iconic_repeats: int = 2
    seed: int = 0
    threads: int = 2
    # Stage 2 of a progressive schedule: start from an earlier run's EMA weights (same classes).
    init_checkpoint: Path | None = None
    # Crops of rendered scenes (`smartcart sim crops`): the cart's own view of the simulated
    # store. ``sim_per_epoch`` of them, drawn afresh, join each epoch; a second folder from
    # another seed is scored beside val.
    sim_crops_dir: Path | None = None
    sim_val_dir: Path | None = None
    sim_per_epoch: int = 1500
    # End after this many epochs of an ``epochs``-long schedule (the learning rate still follows
    # the whole schedule): how a run cut short to hand its weights to a next stage is reproduced.
    stop_after: int | None = None
    # Distillation: an exported recognizer (ONNX) whose logits on each training view the student
    # also matches, with this weight on the soft term and this temperature.
    teacher: Path | None = None
    distill_weight: float = 0.7
    distill_temp: float = 2.0


class Ema:
    """Exponential moving average of a model's weights (BN statistics copied as they are)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model).eval()
        self.decay = decay
        self.updates = 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        # A short average early on: the first weights are the random head's, not worth keeping.
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        live = model.state_dict()
        for name, value in self.model.state_dict().items():
            if value.dtype.is_floating_point:
                value.mul_(d).add_(live[name].detach(), alpha=1 - d)
            else:
                value.copy_(live[name])


def lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))


def param_groups(model: RecognizerNet, cfg: RecognizerTrainConfig) -> list[dict]:
    head, decay, no_decay = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("backbone._fc"):
            head.append(p)
        elif p.ndim <= 1:  # BN scales/shifts and biases are not weight-decayed
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": head, "lr": cfg.lr_head, "base_lr": cfg.lr_head},
        {"params": decay, "lr": cfg.lr_backbone, "base_lr": cfg.lr_backbone},
        {"params": no_decay, "lr": cfg.lr_backbone, "base_lr": cfg.lr_backbone, "weight_decay": 0},
    ]


@torch.no_grad()
def predict(
    model: torch.nn.Module, images: list[np.ndarray], size_px: int, flip: bool = False
) -> np.ndarray:
    """Softmax probabilities (N,C) with the cart's preprocessing; flip averages a mirrored view."""
    model.eval()
    out: list[np.ndarray] = []
    for i in range(0, len(images), 64):
        x = torch.from_numpy(np.stack([crop_to_chw(im, size_px) for im in images[i : i + 64]]))
        x = x.contiguous(memory_format=torch.channels_last)
        p = model(x)[0].softmax(1)
        if flip:
            p = (p + model(x.flip(3))[0].softmax(1)) / 2
        out.append(p.numpy())
    return np.concatenate(out)


def top1(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((probs.argmax(1) == labels).mean())


def train(cfg: RecognizerTrainConfig) -> Path:
    """Run the whole schedule; returns the run folder (EMA weights per epoch + history)."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    (cfg.out_dir / "config.json").write_text(json.dumps(asdict(cfg), default=str, indent=2))

    train_samples = grocery.split("train") + grocery.iconic() * cfg.iconic_repeats
    val_samples = grocery.split("val")
    train_images = grocery.decode_all(train_samples, "decode train")
    val_images = grocery.decode_all(val_samples, "decode val")
    train_labels = np.array([s.fine_id for s in train_samples])
    val_labels = np.array([s.fine_id for s in val_samples])
    n_real = len(train_samples)
    sim_images, sim_labels = grocery.sim_crops(cfg.sim_crops_dir)
    sim_val_images, sim_val_labels = grocery.sim_crops(cfg.sim_val_dir)
    train_images += sim_images
    train_labels = np.concatenate([train_labels, sim_labels])
    n_sim = min(cfg.sim_per_epoch, len(sim_images))
    num_classes = len(grocery.classes())

    teacher = Teacher(cfg.teacher, cfg.threads) if cfg.teacher is not None else None
    model = RecognizerNet.from_imagenet(num_classes)
    if cfg.init_checkpoint is not None:
        state = torch.load(cfg.init_checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    model.freeze_prefix()
    model = model.to(memory_format=torch.channels_last)
    model.train()
    ema = Ema(model, cfg.ema_decay)
    opt = torch.optim.AdamW(param_groups(model, cfg), weight_decay=cfg.weight_decay)

    steps_per_epoch = (n_real + n_sim) // cfg.batch
    total = steps_per_epoch * cfg.epochs
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    eye = np.eye(num_classes, dtype=np.float32)
    smooth = cfg.label_smoothing
    step = 0
    t0 = time.monotonic()
    history = (cfg.out_dir / "history.jsonl").open("a")
    for epoch in range(cfg.epochs if cfg.stop_after is None else min(cfg.stop_after, cfg.epochs)):
        model.train()
        size_px = cfg.low_res_px if epoch < cfg.low_res_epochs else cfg.size_px
        # Every real photo each epoch, plus a fresh draw of the simulator's crops.
        drawn = n_real + rng.choice(len(sim_images), n_sim, replace=False) if n_sim else []
        order = rng.permutation(np.concatenate([np.arange(n_real), drawn]).astype(np.int64))
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * cfg.batch : (b + 1) * cfg.batch]
            # A sim crop is already the cart's framing: crop it less than a photo.
            x = np.stack(
                [
                    train_view(train_images[i], size_px, rng, min_area=0.25 if i < n_real else 0.6)
                    for i in idx
                ]
            )
            y = eye[train_labels[idx]] * (1 - smooth) + smooth / num_classes
            if rng.random() < cfg.mix_prob:
                x, y = mix_batch(x, y, rng)
            xt = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * lr_factor(step, total, warmup)
            logits = model.logits(xt)
            if teacher is None:
                loss = F.cross_entropy(logits, torch.from_numpy(y))
            else:
                loss = distill_loss(
                    logits,
                    torch.from_numpy(teacher.logits(x)),
                    torch.from_numpy(y),
                    cfg.distill_weight,
                    cfg.distill_temp,
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ema.update(model)
            loss_sum += loss.item()
            step += 1
            if step % 20 == 0:
                rate = step * cfg.batch / (time.monotonic() - t0)
                print(f"step {step}/{total} loss {loss.item():.3f} {rate:.1f} img/s", flush=True)
        val_probs = predict(ema.model, val_images, cfg.size_px)
        record = {
            "epoch": epoch + 1,
            "loss": round(loss_sum / steps_per_epoch, 4),
            "val_top1_ema": round(top1(val_probs, val_labels), 4),
            **(
                {
                    "val_sim_top1_ema": round(
                        top1(predict(ema.model, sim_val_images, cfg.size_px), sim_val_labels), 4
                    )
                }
                if sim_val_images
                else {}
            ),
            "elapsed_s": round(time.monotonic() - t0, 1),
        }
        print(json.dumps(record), flush=True)
        history.write(json.dumps(record) + "\n")
        history.flush()
        torch.save(ema.model.state_dict(), cfg.out_dir / f"ema_epoch{epoch + 1:02d}.pt")
    torch.save(model.state_dict(), cfg.out_dir / "last_raw.pt")
    return cfg.out_dir
