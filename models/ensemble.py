"""Exported recognizers -> one ONNX graph that runs them all and averages them.

Members are fine-tuned separately (another seed, another stage-2 draw) and make different
mistakes on the confusable fruit, so their mean is more accurate than either; one graph keeps the
cart's contract unchanged (one file, input ``image``, outputs ``logits`` and ``embedding``):

- ``logits``: the mean of the members' logits;
- ``embedding``: the members' L2-normalised embeddings side by side, divided by sqrt(k), so the
  result is L2-normalised again and its cosine similarity is the mean of the members'.

The recognizer is fully convolutional up to a global average pool, so a member exported at one
input size runs unchanged at another; ``input_size_px`` sets the merged graph's (evaluating a
net at a larger size than it was trained at sees the objects at the scale its random-resized
crops showed them, the "FixRes" effect, measured in models/README.md).

``split`` takes a merged graph apart again, so a shipped ensemble's members can join a new one
without their training runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper
from onnx.utils import Extractor

INPUT = "image"
OUTPUTS = ("logits", "embedding")


class EnsembleError(ValueError):
    pass


def _member(path: Path, prefix: str) -> onnx.ModelProto:
    model = onnx.load(str(path))
    names_in = [i.name for i in model.graph.input]
    names_out = [o.name for o in model.graph.output]
    if names_in != [INPUT] or tuple(names_out) != OUTPUTS:
        raise EnsembleError(f"{path}: {names_in} -> {names_out} is not a recognizer's graph")
    model = compose.add_prefix(model, prefix)
    # All members read the one shared input.
    for node in model.graph.node:
        for k, name in enumerate(node.input):
            if name == prefix + INPUT:
                node.input[k] = INPUT
    return model


def merge(paths: Sequence[Path], out_path: Path, input_size_px: int, opset: int = 17) -> Path:
    """Write the averaged ensemble of ``paths`` (exported recognizer graphs) to ``out_path``."""
    if not paths:
        raise EnsembleError("an ensemble needs at least one member")
    members = [_member(p, f"m{i}/") for i, p in enumerate(paths)]
    classes = {m.graph.output[0].type.tensor_type.shape.dim[1].dim_value for m in members}
    if len(classes) != 1:
        raise EnsembleError(f"members disagree on the number of classes: {sorted(classes)}")
    k = len(members)
    nodes = [n for m in members for n in m.graph.node]
    inits = [t for m in members for t in m.graph.initializer]
    inits += [
        numpy_helper.from_array(np.array(1.0 / k, np.float32), "ensemble/inv_k"),
        numpy_helper.from_array(np.array(1.0 / math.sqrt(k), np.float32), "ensemble/inv_sqrt_k"),
    ]
    logit_sum = [f"m{i}/logits" for i in range(k)]
    nodes += [
        helper.make_node("Sum", logit_sum, ["ensemble/logit_sum"]),
        helper.make_node("Mul", ["ensemble/logit_sum", "ensemble/inv_k"], ["logits"]),
        helper.make_node("Concat", [f"m{i}/embedding" for i in range(k)], ["ensemble/emb"], axis=1),
        helper.make_node("Mul", ["ensemble/emb", "ensemble/inv_sqrt_k"], ["embedding"]),
    ]
    size = input_size_px
    graph = helper.make_graph(
        nodes,
        "recognizer_ensemble",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 3, size, size])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes.pop()]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", None]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = members[0].ir_version
    onnx.checker.check_model(model)
    model = onnx.shape_inference.infer_shapes(model)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out_path))
    return out_path


def split(path: Path, out_dir: Path, names: Sequence[str] = ()) -> list[Path]:
    """The members of a graph ``merge`` wrote, each as its own recognizer graph
    (``out_dir/<names[i]>``, else ``member<i>.onnx``; tensor names without their ``m<i>/``
    prefix); ``merge`` of them at the same size computes the same outputs."""
    model = onnx.load(str(path))
    produced = {name for node in model.graph.node for name in node.output}
    k = sum(1 for name in produced if name.endswith("/logits"))
    if k == 0 or {f"m{i}/logits" for i in range(k)} - produced:
        raise EnsembleError(f"{path}: not a merged recognizer (no m<i>/logits outputs)")
    extractor = Extractor(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(k):
        prefix = f"m{i}/"
        member = extractor.extract_model([INPUT], [prefix + name for name in OUTPUTS])

        def bare(name: str, prefix: str = prefix) -> str:
            return name.removeprefix(prefix)

        for node in member.graph.node:
            node.name = bare(node.name)
            node.input[:] = [bare(n) for n in node.input]
            node.output[:] = [bare(n) for n in node.output]
        for tensor in member.graph.initializer:
            tensor.name = bare(tensor.name)
        classes = member.graph.output[0].type.tensor_type.shape.dim[1].dim_value
        del member.graph.output[:]
        member.graph.output.extend([  # as an exported member: any batch, any size
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", None]),
        ])  # fmt: skip
        member.graph.input[0].CopyFrom(
            helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 3, None, None])
        )
        del member.graph.value_info[:]  # inferred at the merged size
        member.graph.name = f"recognizer_member{i}"
        onnx.checker.check_model(member)
        paths.append(out_dir / (names[i] if len(names) == k else f"member{i}.onnx"))
        onnx.save(member, str(paths[-1]))
    return paths
