"""Merging exported recognizers into one graph: the cart's contract holds, the maths is the mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from tiny_onnx import tiny_recognizer

from models.ensemble import EnsembleError, merge, split


def run(path: Path, x: np.ndarray) -> list[np.ndarray]:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"image": x}
    )


def test_merged_graph_is_the_members_mean_at_the_new_size(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = tiny_recognizer(tmp_path / "a.onnx", rng.normal(size=(3, 5)))
    b = tiny_recognizer(tmp_path / "b.onnx", rng.normal(size=(3, 5)))
    merged = merge([a, b], tmp_path / "ab.onnx", input_size_px=12)
    session = ort.InferenceSession(str(merged), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 3, 12, 12]
    assert [o.name for o in session.get_outputs()] == ["logits", "embedding"]

    x = rng.uniform(0, 255, size=(4, 3, 12, 12)).astype(np.float32)
    # Each member alone, resized the same way (a one-member "ensemble")...
    a12, b12 = merge([a], tmp_path / "a12.onnx", 12), merge([b], tmp_path / "b12.onnx", 12)
    (la, ea), (lb, eb) = run(a12, x), run(b12, x)
    # ... computes what the member computes: pooled features of a flat image do not depend on
    # its size.
    flat = np.full((1, 3, 8, 8), 40.0, np.float32)
    np.testing.assert_allclose(run(a12, np.full((1, 3, 12, 12), 40.0, np.float32))[0],
                               run(a, flat)[0], rtol=1e-6)  # fmt: skip
    logits, embedding = run(merged, x)
    np.testing.assert_allclose(logits, (la + lb) / 2, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-6)
    # Cosine similarity between two crops is the mean of the members' similarities.
    np.testing.assert_allclose(
        embedding[0] @ embedding[1], (ea[0] @ ea[1] + eb[0] @ eb[1]) / 2, atol=1e-6
    )


def test_members_must_be_recognizers_over_the_same_classes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    a = tiny_recognizer(tmp_path / "a.onnx", rng.normal(size=(3, 5)))
    c = tiny_recognizer(tmp_path / "c.onnx", rng.normal(size=(3, 4)))
    with pytest.raises(EnsembleError, match="classes"):
        merge([a, c], tmp_path / "ac.onnx", 8)
    with pytest.raises(EnsembleError, match="at least one"):
        merge([], tmp_path / "none.onnx", 8)
    model = onnx.load(str(a))
    model.graph.output[1].name = "features"
    model.graph.node[3].output[0] = "features"
    onnx.save(model, str(tmp_path / "odd.onnx"))
    with pytest.raises(EnsembleError, match="not a recognizer"):
        merge([tmp_path / "odd.onnx"], tmp_path / "odd-merged.onnx", 8)


def test_split_gives_back_the_members(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    a = tiny_recognizer(tmp_path / "a.onnx", rng.normal(size=(3, 5)))
    b = tiny_recognizer(tmp_path / "b.onnx", rng.normal(size=(3, 5)))
    merged = merge([a, b], tmp_path / "ab.onnx", input_size_px=12)
    members = split(merged, tmp_path / "members")
    assert [p.name for p in members] == ["member0.onnx", "member1.onnx"]
    x = rng.uniform(0, 255, size=(2, 3, 8, 8)).astype(np.float32)  # any size, as exported
    for original, member in zip((a, b), members, strict=True):
        for want, got in zip(run(original, x), run(member, x), strict=True):
            np.testing.assert_array_equal(got, want)
    x12 = rng.uniform(0, 255, size=(2, 3, 12, 12)).astype(np.float32)
    again = merge(members, tmp_path / "again.onnx", input_size_px=12)
    for want, got in zip(run(merged, x12), run(again, x12), strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(EnsembleError, match="not a merged recognizer"):
        split(a, tmp_path / "nothing")


def test_the_shipped_recognizer_splits_into_its_members(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from models import manifest
    from models.cli import app

    result = CliRunner().invoke(app, ["split-recognizer", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = manifest.raw_record("recognizer")["training"]["members"]
    members = [tmp_path / name for name in names]
    assert sorted(tmp_path.glob("*.onnx")) == sorted(members)
    entry = manifest.entry("recognizer")
    assert len(members) == entry.outputs["embedding"][1] // 1280  # 1,280 per member
    size = entry.input["shape"][2]
    x = np.random.default_rng(3).uniform(0, 255, size=(1, 3, size, size)).astype(np.float32)
    mean = sum(run(m, x)[0] for m in members) / len(members)
    np.testing.assert_allclose(run(entry.path("fp32"), x)[0], mean, rtol=1e-5, atol=1e-4)
