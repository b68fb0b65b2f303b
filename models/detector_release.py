"""From a detector training run to the committed detector: choose on val, export, quantise.

The epoch is chosen by the product AP@0.5 logged on the training set's own val split; frames
from seeds never used in training are reserved for ``smartcart models evaluate detector``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from models import manifest
from models.detector_data import read_yolo
from models.detector_net import NUM_CLASSES, STRIDE, DetectorArch, DetectorNet
from models.export import check_against_torch, export_fp32, quantize_int8
from models.train_detector import INPUT_WH_PX

VERSION = "1.3.0"  # 1.3.0: 20-epoch schedule; 1.2.0: trained and run at 384x288 (1.1.x: 320x240)
CALIBRATION_FRAMES = 128


def best_checkpoint(run_dir: Path) -> tuple[Path, float]:
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    best = max(history, key=lambda r: (r["val_product_ap50_ema"] or 0.0, r["epoch"]))
    return run_dir / f"ema_epoch{best['epoch']:02d}.pt", best["val_product_ap50_ema"]


def calibration_batches(
    data_dir: Path, input_wh_px: tuple[int, int] = INPUT_WH_PX
) -> list[np.ndarray]:
    """int8 calibration frames: a fixed draw from the training split (never evaluation seeds)."""
    frames = read_yolo(data_dir, ("train",), input_wh_px)
    picked = np.random.default_rng(0).choice(len(frames), CALIBRATION_FRAMES, replace=False)
    return [frames[i].chw[None] for i in picked]


def requantize_detector(data_dir: Path) -> dict:
    """Re-make the committed detector's int8 graph from its committed fp32 graph (no checkpoint
    needed: quantisation reads only the ONNX file and the training frames in ``data_dir``, the
    folder the manifest names) and record the new file in the manifest."""
    record = manifest.raw_record("detector")
    fp32 = manifest.MODELS_DIR / record["variants"]["fp32"]["file"]
    if manifest.sha256_of(fp32) != record["variants"]["fp32"]["sha256"]:
        raise manifest.ManifestError(f"{fp32} is not the fp32 graph the manifest names")
    int8_path = manifest.MODELS_DIR / record["variants"]["int8"]["file"]
    height, width = record["input"]["shape"][2:]
    batches = calibration_batches(data_dir, (width, height))
    int8 = quantize_int8(fp32, int8_path, iter(batches))
    record["variants"]["int8"]["sha256"] = manifest.sha256_of(int8)
    record["version"] = VERSION
    manifest.write_model("detector", record)
    return record


def release_detector(run_dir: Path, out_dir: Path = manifest.MODELS_DIR) -> dict:
    torch.set_num_threads(2)
    config = json.loads((run_dir / "config.json").read_text())
    checkpoint, val_ap = best_checkpoint(run_dir)
    arch = DetectorArch(**config.get("arch", {}))  # runs before the knobs existed: v1.1.0's
    net = DetectorNet(arch=arch)
    net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    net.eval()
    # Runs from before the size was a setting were trained at 320x240.
    width, height = config.get("input_wh_px", (320, 240))
    fp32 = export_fp32(
        net,
        torch.zeros(1, 3, height, width),
        out_dir / "detector-fp32.onnx",
        ("heatmap", "box"),
        dynamic_batch=False,
    )
    batches = calibration_batches(Path(config["data_dir"]), (width, height))
    int8 = quantize_int8(fp32, out_dir / "detector-int8.onnx", iter(batches))
    max_diff = check_against_torch(net, fp32, batches[0], atol=1e-2)
    record = {
        "version": VERSION,
        "task": "basket detection: product and hand boxes (CenterNet-style, stride 8)",
        "variants": {
            v: {"file": p.name, "sha256": manifest.sha256_of(p)}
            for v, p in (("fp32", fp32), ("int8", int8))
        },
        "input": {
            "name": "image",
            "shape": [1, 3, height, width],
            "dtype": "float32",
            "layout": "NCHW",
            "color": "RGB",
            "range": [0, 255],
            "preprocess": "firmware.vision.preprocess.letterbox_chw (fit, centred, grey 114)",
        },
        "outputs": {
            "heatmap": [1, NUM_CLASSES, height // STRIDE, width // STRIDE],
            "box": [1, 4, height // STRIDE, width // STRIDE],
            "stride_px": STRIDE,
        },
        "labels": ["product", "hand"],
        "training": {
            "checkpoint": checkpoint.name,
            "arch": arch.as_dict(),
            "data": config["data_dir"],
            "val_product_ap50": val_ap,
            "ort_vs_torch_max_abs_diff": max_diff,
        },
        "metrics": {},
    }
    manifest.write_model("detector", record)
    return record
