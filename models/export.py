"""PyTorch checkpoint -> ONNX fp32 (opset 17) -> ONNX int8 (ORT static quantisation, QDQ).

int8 uses per-channel weight scales and activation ranges calibrated on training images (never
val or test) run through the cart's own preprocessing. ``check_against_torch`` compares ONNX
Runtime's fp32 outputs with PyTorch's on the same inputs, so an exporter bug cannot hide.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

if TYPE_CHECKING:  # torch is the train extra: only export and GPTQ rounding import it, at call time
    import torch

OPSET = 17
# Output channels whose BN-folded weights all lie below this are numerically dead (ImageNet
# EfficientNet has BN scales near 0). Left as they are, their per-channel weight scale is so small
# that the int32 bias (scale = input scale x weight scale) overflows and is clipped, which wrecks
# int8 accuracy; zeroed, ORT gives them scale 1 and the bias survives. Their true contribution is
# below 1e-5 x the input, far under int8 resolution anyway.
DEAD_CHANNEL_MAX_ABS = 1e-5
WEIGHT_ROUNDINGS = ("nearest", "gptq")
# The recognizer's int8 recipe (issue 8: int8 must agree with fp32 on top-1 for >= 99 % of photos),
# chosen on val, flipped/cropped views of val and a train holdout: GPTQ weights, and in fp32 the
# stem and blocks 0-3 (the first 12 convolutions, where rounding errors cost the most) and
# everything after the last convolution (pooling, classifier, embedding normalisation, the mean).
RECOGNIZER_INT8 = {"weight_rounding": "gptq", "fp32_leading_convs": 12, "fp32_tail": True}


class ExportError(RuntimeError):
    pass


def export_fp32(
    model: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    output_names: Sequence[str],
    dynamic_batch: bool = True,
) -> Path:
    import torch

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
    weight_rounding: str = "nearest",
    fp32_leading_convs: int = 0,
    fp32_tail: bool = False,
) -> Path:
    """Static 8-bit (QDQ, per-channel weights, MinMax activation ranges); ``op_types`` limits which
    ops (default: all ORT quantises, so activations stay 8-bit between convolutions and Clip folds
    into them).

    Weights default to uint8 (U8U8): on x86 without VNNI, ORT's U8S8 kernels saturate 16-bit
    intermediate sums; U8U8 avoids that path (x86 with VNNI, such as this machine's EPYC, and ARM
    run either exactly). Every Conv weight gets one zero point for all its channels, dead
    channels included (ORT's default gives an all-zero channel zero point 0 beside 128 for the
    others, and ORT then runs that convolution many times slower, with the same result).

    ``weight_rounding="gptq"`` chooses each quantised Conv's 8-bit weights on its usual grid to
    minimise the error of the layer's output on the calibration images (GPTQ), instead of
    rounding each weight to the nearest level. ``fp32_leading_convs`` leaves the first N
    convolutions from the input (and every node between them) in fp32; ``fp32_tail`` leaves
    every node after the last convolution (pooling, classifier, normalisation) in fp32.
    ``RECOGNIZER_INT8`` is the recognizer's choice of these."""
    if weight_rounding not in WEIGHT_ROUNDINGS:
        raise ValueError(f"weight_rounding: one of {WEIGHT_ROUNDINGS}, not {weight_rounding!r}")
    batches = list(calibration)  # GPTQ reads them too, before the activations' calibration
    prepared = int8_path.with_suffix(".prep.onnx")
    quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
    zero_dead_channels(prepared)
    try:
        model = onnx.load(str(prepared))
        keep_fp32 = fp32_nodes(model, fp32_leading_convs, fp32_tail)
        grids = weight_grids(model, weight_type, skip=keep_fp32)
        if weight_rounding == "gptq":
            gptq_round(prepared, batches, grids)
        quantize_static(
            str(prepared),
            str(int8_path),
            _ArrayReader(iter(batches)),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=weight_type,
            calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=list(op_types) if op_types else None,
            nodes_to_exclude=sorted(keep_fp32),
            extra_options={"TensorQuantOverrides": {n: g.overrides() for n, g in grids.items()}},
        )
    finally:
        prepared.unlink(missing_ok=True)
    return int8_path


def fp32_nodes(model: onnx.ModelProto, leading_convs: int = 0, tail: bool = False) -> set[str]:
    """Names of the nodes to leave in fp32: those with at most ``leading_convs`` Convs on their
    longest path from the input (the Convs themselves included), and with ``tail`` every non-Conv
    node that no Conv follows."""
    nodes = list(model.graph.node)  # ONNX keeps nodes in topological order
    producer = {out: n for n in nodes for out in n.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in nodes:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
    keep: set[str] = set()
    if leading_convs > 0:
        depth: dict[str, int] = {}
        for n in nodes:
            above = max((depth[producer[i].name] for i in n.input if i in producer), default=0)
            depth[n.name] = above + (n.op_type == "Conv")
            if depth[n.name] <= leading_convs:
                keep.add(n.name)
    if tail:
        conv_below: dict[str, bool] = {}
        for n in reversed(nodes):
            after = [c for out in n.output for c in consumers.get(out, [])]
            conv_below[n.name] = any(c.op_type == "Conv" or conv_below[c.name] for c in after)
            if n.op_type != "Conv" and not conv_below[n.name]:
                keep.add(n.name)
    return keep


@dataclass(frozen=True)
class WeightGrid:
    """A Conv weight's per-output-channel 8-bit grid: real value = (q - zero_point) * scale."""

    scale: np.ndarray  # float32, one per output channel
    zero_point: int
    qmin: int
    qmax: int

    def overrides(self) -> list[dict]:
        return [{"axis": 0, "scale": float(s), "zero_point": self.zero_point} for s in self.scale]


def weight_grids(
    model: onnx.ModelProto, weight_type: QuantType, skip: Iterable[str] = ()
) -> dict[str, WeightGrid]:
    """ORT's own symmetric per-channel grid for each quantised Conv weight (scale 2 max|w| / 255),
    with one zero point for all channels: an all-zero channel gets scale 1, not zero point 0."""
    signed = weight_type == QuantType.QInt8
    if not signed and weight_type != QuantType.QUInt8:
        raise ValueError(f"8-bit weights only, not {weight_type}")
    qmin, qmax, zero_point = (-128, 127, 0) if signed else (0, 255, 128)
    skip = set(skip)
    initializers = {t.name: t for t in model.graph.initializer}
    grids: dict[str, WeightGrid] = {}
    for node in model.graph.node:
        if node.op_type != "Conv" or node.name in skip or node.input[1] not in initializers:
            continue
        w = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float64)
        absmax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        scale = (2 * absmax / (qmax - qmin)).astype(np.float32)
        scale[scale < np.finfo(np.float32).tiny] = 1.0
        grids[node.input[1]] = WeightGrid(scale, zero_point, qmin, qmax)
    return grids


def _conv_geometry(node: onnx.NodeProto, weight_shape: tuple[int, ...]) -> dict | None:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    if len(weight_shape) != 4 or auto_pad not in (b"NOTSET", "NOTSET"):
        return None
    group = attrs.get("group", 1)
    if group != 1 and not (group == weight_shape[0] and weight_shape[1] == 1):
        return None  # grouped but not depthwise: rounded to nearest
    return {
        "group": group,
        "kernel": tuple(attrs.get("kernel_shape", weight_shape[2:])),
        "stride": tuple(attrs.get("strides", (1, 1))),
        "pads": tuple(attrs.get("pads", (0, 0, 0, 0))),
        "dilation": tuple(attrs.get("dilations", (1, 1))),
    }


def _patches(x: torch.Tensor, geometry: dict) -> torch.Tensor:
    """A Conv's input (N,C,H,W) -> its patches: (C*kk, N*P), or (C, kk, N*P) for depthwise."""
    import torch

    top, left, bottom, right = geometry["pads"]
    x = torch.nn.functional.pad(x, (left, right, top, bottom))
    u = torch.nn.functional.unfold(
        x, geometry["kernel"], dilation=geometry["dilation"], stride=geometry["stride"]
    )  # (N, C*kk, P)
    if geometry["group"] == 1:
        return u.transpose(0, 1).reshape(u.shape[1], -1)
    kk = int(np.prod(geometry["kernel"]))
    u = u.reshape(u.shape[0], geometry["group"], kk, -1)
    return u.permute(1, 2, 0, 3).reshape(geometry["group"], kk, -1)


def _gptq_rows(
    w: torch.Tensor, hessian: torch.Tensor, grid: WeightGrid, damp: float
) -> torch.Tensor:
    """GPTQ (Frantar et al. 2022) on one layer: w (R, D) -> dequantised grid values minimising
    sum over the calibration patches x of |(w - q) x|^2; ``hessian`` is sum x x^T, (D, D), or
    (R, D, D) with one per row (depthwise)."""
    import torch

    w = w.clone()
    scale = torch.from_numpy(grid.scale.astype(np.float64))
    rows, cols = w.shape
    eye = torch.eye(cols, dtype=w.dtype)
    perm = None
    h = hessian.clone()
    if h.dim() == 2:
        dead = torch.diagonal(h) == 0
        h[dead, dead] = 1.0
        w[:, dead] = 0.0
        perm = torch.argsort(torch.diagonal(h), descending=True)  # most active inputs first
        w, h = w[:, perm], h[perm][:, perm]
        h += damp * torch.diagonal(h).mean() * eye
    else:
        d = torch.diagonal(h, dim1=1, dim2=2)
        d[d == 0] = 1.0
        h += damp * d.mean(1)[:, None, None] * eye
    inv_chol = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    q = torch.zeros_like(w)
    for i in range(cols):
        col = w[:, i]
        level = torch.clamp(torch.round(col / scale) + grid.zero_point, grid.qmin, grid.qmax)
        q[:, i] = (level - grid.zero_point) * scale
        if inv_chol.dim() == 2:
            err = (col - q[:, i]) / inv_chol[i, i]
            w[:, i + 1 :] -= err[:, None] * inv_chol[i, i + 1 :][None, :]
        else:
            err = (col - q[:, i]) / inv_chol[:, i, i]
            w[:, i + 1 :] -= err[:, None] * inv_chol[:, i, i + 1 :]
    return q[:, torch.argsort(perm)] if perm is not None else q


def gptq_round(
    model_path: Path,
    batches: Sequence[np.ndarray],
    grids: dict[str, WeightGrid],
    damp: float = 0.01,
    images_per_run: int = 4,
) -> int:
    """Replace, in place, each Conv weight named in ``grids`` by GPTQ's choice of values on that
    grid, from the Conv's fp32 inputs on ``batches``; returns how many Convs were rounded so.
    ORT then quantises these values exactly (same grid, passed as overrides)."""
    import torch

    model = onnx.load(str(model_path))
    initializers = {t.name: t for t in model.graph.initializer}
    convs = []
    for node in model.graph.node:
        if node.op_type == "Conv" and node.input[1] in grids:
            geometry = _conv_geometry(node, tuple(initializers[node.input[1]].dims))
            if geometry is not None:
                convs.append((node, geometry))
    inputs = sorted({node.input[0] for node, _ in convs})
    probe = onnx.load(str(model_path))
    graph_outputs = {o.name for o in probe.graph.output}
    probe.graph.output.extend(
        helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
        for name in inputs
        if name not in graph_outputs
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    hessians: dict[str, torch.Tensor] = {}
    for batch in batches:
        for i in range(0, len(batch), images_per_run):
            feed = {"image": batch[i : i + images_per_run]}
            acts = dict(zip(inputs, session.run(inputs, feed), strict=True))
            for node, geometry in convs:
                u = _patches(torch.from_numpy(acts[node.input[0]]).double(), geometry)
                h = u @ u.transpose(-1, -2)
                hessians[node.name] = hessians[node.name] + h if node.name in hessians else h
    for node, _ in convs:
        tensor = initializers[node.input[1]]
        w = numpy_helper.to_array(tensor)
        flat = torch.from_numpy(w.reshape(w.shape[0], -1).astype(np.float64))
        q = _gptq_rows(flat, hessians[node.name], grids[node.input[1]], damp)
        rounded = q.numpy().reshape(w.shape).astype(np.float32)
        tensor.CopyFrom(numpy_helper.from_array(rounded, tensor.name))
    onnx.save(model, str(model_path))
    return len(convs)


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
    import torch

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
