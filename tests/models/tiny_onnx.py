"""Tiny ONNX graphs with the shape of the real models, for tests that need a graph to run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tiny_recognizer(path: Path, weights: np.ndarray, size: int = 8) -> Path:
    """image (N,3,S,S) -> global average pool -> logits = pooled @ W, embedding = pooled / |pooled|
    (the shape of the real graph: fully convolutional up to a global pool)."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled4"]),
        helper.make_node("Flatten", ["pooled4"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "w"], ["logits"]),
        helper.make_node("LpNormalization", ["pooled"], ["embedding"], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", weights.shape[1]]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 3]),
        ],
        [numpy_helper.from_array(weights.astype(np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
