"""int8 export (models.export.quantize_int8): what stays fp32, weight grids, GPTQ rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from models.export import RECOGNIZER_INT8, fp32_nodes, quantize_int8

SIZE = 16


def tiny_convnet(path: Path, seed: int = 0) -> Path:
    """stem 3x3 -> ReLU6 -> depthwise 3x3 -> ReLU6 -> 1x1 (one dead output channel) -> ReLU6
    -> global pool -> Gemm: the recognizer's shape, small enough to quantise quickly."""
    rng = np.random.default_rng(seed)
    stem = rng.normal(0, 0.3, (16, 3, 3, 3))
    depthwise = rng.normal(0, 0.5, (16, 1, 3, 3))
    point = rng.normal(0, 0.3, (12, 16, 1, 1))
    point[5] = 0.0  # a dead channel, as zero_dead_channels leaves it
    fc = rng.normal(0, 0.5, (5, 12))
    inits = {
        "stem_w": stem,
        "stem_b": rng.normal(0, 0.1, 16),
        "dw_w": depthwise,
        "dw_b": rng.normal(0, 0.1, 16),
        "pw_w": point,
        "pw_b": rng.normal(0, 0.1, 12),
        "fc_w": fc,
        "fc_b": rng.normal(0, 0.1, 5),
        "lo": np.array(0.0),
        "hi": np.array(6.0),
    }
    nodes = [
        helper.make_node(
            "Conv", ["image", "stem_w", "stem_b"], ["c1"], "stem", pads=[1, 1, 1, 1], strides=[2, 2]
        ),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["a1"], "act1"),
        helper.make_node(
            "Conv", ["a1", "dw_w", "dw_b"], ["c2"], "depthwise", pads=[1, 1, 1, 1], group=16
        ),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["a2"], "act2"),
        helper.make_node("Conv", ["a2", "pw_w", "pw_b"], ["c3"], "pointwise"),
        helper.make_node("Clip", ["c3", "lo", "hi"], ["a3"], "act3"),
        helper.make_node("GlobalAveragePool", ["a3"], ["g"], "pool"),
        helper.make_node("Flatten", ["g"], ["f"], "flatten"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], "fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 5])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def batches(n: int = 4, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 1, (8, 3, SIZE, SIZE)).astype(np.float32) for _ in range(n)]


def run(path: Path, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"image": x})[0]


def weight_source(model: onnx.ModelProto, node_name: str, index: int = 1) -> str:
    """'dq' when a node's input comes from a DequantizeLinear, 'float' for a float initializer."""
    producer = {o: n for n in model.graph.node for o in n.output}
    floats = {t.name for t in model.graph.initializer if t.data_type == TensorProto.FLOAT}
    node = next(n for n in model.graph.node if n.name == node_name)
    name = node.input[index]
    if name in producer and producer[name].op_type == "DequantizeLinear":
        return "dq"
    return "float" if name in floats else producer[name].op_type


def test_fp32_nodes_counts_convs_from_the_input_and_finds_the_tail(tmp_path: Path) -> None:
    model = onnx.load(str(tiny_convnet(tmp_path / "fp32.onnx")))
    assert fp32_nodes(model) == set()
    assert fp32_nodes(model, leading_convs=2) == {"stem", "act1", "depthwise", "act2"}
    assert fp32_nodes(model, tail=True) == {"act3", "pool", "flatten", "fc"}


def test_excluded_nodes_stay_fp32_in_the_written_graph(tmp_path: Path) -> None:
    fp32 = tiny_convnet(tmp_path / "fp32.onnx")
    int8 = quantize_int8(
        fp32, tmp_path / "int8.onnx", iter(batches()), fp32_leading_convs=1, fp32_tail=True
    )
    model = onnx.load(str(int8))
    assert weight_source(model, "stem") == "float"
    assert weight_source(model, "depthwise") == "dq"
    assert weight_source(model, "pointwise") == "dq"
    assert weight_source(model, "fc") == "float"
    assert weight_source(model, "fc", index=0) != "dq"  # the pooled features are not 8-bit
    x = batches(1, seed=7)[0]
    assert np.abs(run(int8, x) - run(fp32, x)).max() < 0.1


def test_every_weight_has_one_zero_point_dead_channels_included(tmp_path: Path) -> None:
    """ORT's default gives an all-zero channel zero point 0 beside 128 for the rest, and ORT then
    runs that convolution ~10x slower; the dead channel must still compute exactly zero."""
    int8 = quantize_int8(
        tiny_convnet(tmp_path / "fp32.onnx"), tmp_path / "int8.onnx", iter(batches())
    )
    model = onnx.load(str(int8))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    conv_weights = 0
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0].endswith("_quantized"):
            q, zp = inits[node.input[0]], inits[node.input[2]]
            if q.ndim != 4:
                continue
            conv_weights += 1
            assert np.unique(zp).tolist() == [128]
            if node.input[0] == "pw_w_quantized":
                assert (q[5] == 128).all()
    assert conv_weights == 3


def test_gptq_weights_lie_on_the_grid_and_track_fp32_more_closely(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="GPTQ rounding is release tooling (the train extra)")
    fp32 = tiny_convnet(tmp_path / "fp32.onnx")
    nearest = quantize_int8(fp32, tmp_path / "nearest.onnx", iter(batches()))
    gptq = quantize_int8(fp32, tmp_path / "gptq.onnx", iter(batches()), weight_rounding="gptq")
    got = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(gptq)).graph.initializer}
    near = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(nearest)).graph.initializer}
    for name in ("stem_w", "dw_w", "pw_w"):
        # same grid (scales, zero points); GPTQ moves some weights to another level
        np.testing.assert_array_equal(got[f"{name}_scale"], near[f"{name}_scale"])
        assert (got[f"{name}_quantized"] != near[f"{name}_quantized"]).any()
    x = np.concatenate(batches())
    want = run(fp32, x)
    err_gptq = np.sqrt(((run(gptq, x) - want) ** 2).mean())
    err_nearest = np.sqrt(((run(nearest, x) - want) ** 2).mean())
    assert err_gptq < err_nearest


def test_recognizer_recipe_and_bad_options(tmp_path: Path) -> None:
    assert RECOGNIZER_INT8 == {
        "weight_rounding": "gptq",
        "fp32_leading_convs": 12,
        "fp32_tail": True,
    }
    fp32 = tiny_convnet(tmp_path / "fp32.onnx")
    with pytest.raises(ValueError, match="weight_rounding"):
        quantize_int8(fp32, tmp_path / "int8.onnx", iter(batches()), weight_rounding="adaround")
