"""PyTorch checkpoint -> ONNX fp32 (opset 17) -> ONNX int8 (ORT static quantisation, QDQ).

int8 uses per-channel weight scales and activation ranges calibrated on training images (never
val or test) run through the cart's own preprocessing. ``check_against_torch`` compares ONNX
Runtime's fp32 outputs with PyTorch's on the same inputs, so an exporter bug cannot hide.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

OPSET = 17
# Output channels whose BN-folded weights all lie below this are numerically dead (ImageNet
# EfficientNet has BN scales near 0). Left as they are, their per-channel weight scale is so small
# that the int32 bias (scale = input scale x weight scale) overflows and is clipped, which wrecks
# int8 accuracy; zeroed, ORT gives them scale 1 and the bias survives. Their true contribution is
# below 1e-5 x the input, far under int8 resolution anyway.
DEAD_CHANNEL_MAX_ABS = 1e-5


class ExportError(RuntimeError):
    pass


def export_fp32(
    model: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    output_names: Sequence[str],
    dynamic_batch: bool = True,
) -> Path:
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {n: {0: "batch"} for n in ("image", *output_names)} if dynamic_batch else None
    # The TorchScript-based exporter: the dynamo one needs onnxscript and gives the same graph here.
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["image"],
        output_names=list(output_names),
        dynamic_axes=axes,
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )
    return path


class _ArrayReader(CalibrationDataReader):
    """Feeds calibration batches (already preprocessed NCHW float32) to the ORT calibrator."""

    def __init__(self, batches: Iterator[np.ndarray]) -> None:
        self._batches = batches

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {"image": batch}


def quantize_int8(
    fp32_path: Path,
    int8_path: Path,
    calibration: Iterator[np.ndarray],
    op_types: Sequence[str] | None = None,
    weight_type: QuantType = QuantType.QUInt8,
) -> Path:
    """Static 8-bit (QDQ, per-channel weights); ``op_types`` limits which ops (default: all ORT
    quantises, so activations stay 8-bit between convolutions and Clip folds into them).

    Weights default to uint8 (U8U8): on x86 without VNNI (this machine's AVX2 EPYC), ORT's
    U8S8 kernels saturate 16-bit intermediate sums, which flipped top-1 on about 1 in 4 test
    photos in our trials; U8U8 avoids that path. ARM (the Pi) runs either exactly."""
    prepared = int8_path.with_suffix(".prep.onnx")
    quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
    zero_dead_channels(prepared)
    try:
        quantize_static(
            str(prepared),
            str(int8_path),
            _ArrayReader(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=weight_type,
            calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=list(op_types) if op_types else None,
        )
    finally:
        prepared.unlink(missing_ok=True)
    return int8_path


def zero_dead_channels(model_path: Path, max_abs: float = DEAD_CHANNEL_MAX_ABS) -> int:
    """Zero the weights of dead Conv output channels in place; returns how many were zeroed."""
    model = onnx.load(str(model_path))
    initializers = {t.name: t for t in model.graph.initializer}
    zeroed = 0
    for node in model.graph.node:
        if node.op_type != "Conv" or node.input[1] not in initializers:
            continue
        tensor = initializers[node.input[1]]
        w = numpy_helper.to_array(tensor).copy()
        dead = np.abs(w.reshape(w.shape[0], -1)).max(axis=1) < max_abs
        if dead.any():
            w[dead] = 0
            tensor.CopyFrom(numpy_helper.from_array(w, tensor.name))
            zeroed += int(dead.sum())
    onnx.save(model, str(model_path))
    return zeroed


def check_against_torch(
    model: torch.nn.Module, onnx_path: Path, batch: np.ndarray, atol: float
) -> float:
    """Largest absolute difference over all outputs; raises if above ``atol``."""
    model.eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(batch))
    ref = ref if isinstance(ref, tuple) else (ref,)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": batch})
    worst = max(float(np.abs(r.numpy() - g).max()) for r, g in zip(ref, got, strict=True))
    if worst > atol:
        raise ExportError(f"{onnx_path.name}: ORT differs from PyTorch by {worst:.2e} > {atol}")
    return worst
