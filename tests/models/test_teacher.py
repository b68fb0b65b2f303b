"""Distillation: the teacher graph reads views of any size, and the loss pulls toward it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tiny_onnx import tiny_recognizer  # noqa: E402

from models.teacher import Teacher, distill_loss  # noqa: E402


def test_the_teacher_reads_views_larger_than_its_declared_size(tmp_path: Path) -> None:
    w = np.random.default_rng(0).normal(size=(3, 5))
    teacher = Teacher(tiny_recognizer(tmp_path / "t.onnx", w, size=8), threads=1)
    x = np.random.default_rng(1).uniform(0, 255, size=(2, 3, 24, 24)).astype(np.float32)
    expected = x.mean(axis=(2, 3)) @ w
    np.testing.assert_allclose(teacher.logits(x), expected, rtol=1e-4)


def test_distill_loss_is_cross_entropy_without_weight_and_kl_with_it() -> None:
    student = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    ce = torch.nn.functional.cross_entropy(student, labels)
    assert torch.isclose(distill_loss(student, student + 5, labels, 0.0, 2.0), ce)
    # Logits that differ by a constant are the same distribution: nothing left to learn.
    assert distill_loss(student, student + 5, labels, 1.0, 2.0).abs() < 1e-6


def test_the_soft_term_moves_the_student_toward_the_teacher() -> None:
    teacher = torch.tensor([[0.0, 3.0, 0.0]])
    student = torch.zeros(1, 3, requires_grad=True)
    labels = torch.tensor([[1.0, 0.0, 0.0]])  # the label says class 0, the teacher class 1
    opt = torch.optim.SGD([student], lr=1.0)
    for _ in range(50):
        opt.zero_grad()
        distill_loss(student, teacher, labels, 0.9, 2.0).backward()
        opt.step()
    assert student.argmax().item() == 1
