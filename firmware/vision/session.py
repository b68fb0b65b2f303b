"""One place that opens ONNX Runtime sessions the way the cart wants them (CPU, fixed threads)."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from firmware.vision.types import VisionError


class ModelLoadError(VisionError):
    """A model file that is missing or that ONNX Runtime refuses."""


def open_session(model_path: Path, threads: int = 1) -> ort.InferenceSession:
    if not Path(model_path).is_file():
        raise ModelLoadError(f"model file not found: {model_path}")
    opts = ort.SessionOptions()
    # The cart runs camera, tracking and MQTT beside inference: a fixed small thread count keeps
    # latency predictable instead of letting ORT grab every core.
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own untyped Fail/InvalidGraph errors
        raise ModelLoadError(f"ONNX Runtime cannot load {model_path}: {e}") from e
