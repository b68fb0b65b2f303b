"""A trained recognizer graph as a teacher for distillation (knowledge distillation, Hinton 2015).

The teacher is an exported ONNX recognizer (the shipped ensemble, say): it sees the very view the
student is trained on, MixUp/CutMix included, so the student learns to match its function, not
just its answers on clean photos. ONNX Runtime runs it, so no PyTorch checkpoint of the teacher is
needed (the shipped members exist only as ONNX).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F


class Teacher:
    def __init__(self, path: Path, threads: int) -> None:
        model = onnx.load(str(path))
        # Exported graphs declare the size they were chosen at; the nets are fully convolutional
        # up to a global pool, so the teacher can read the student's views at their own size.
        dims = model.graph.input[0].type.tensor_type.shape.dim
        for axis, name in ((2, "height"), (3, "width")):
            dims[axis].ClearField("dim_value")
            dims[axis].dim_param = name
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def logits(self, x_rgb255: np.ndarray) -> np.ndarray:
        """(N,3,S,S) float32 RGB 0..255 -> (N,C) logits."""
        return self._session.run(["logits"], {self._input: x_rgb255.astype(np.float32)})[0]


def distill_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    weight: float,
    temperature: float,
) -> torch.Tensor:
    """(1 - weight) * cross-entropy on the (soft) labels + weight * T^2 * KL(teacher || student).

    T^2 keeps the soft term's gradients on the same scale whatever the temperature (Hinton).
    """
    hard = F.cross_entropy(student_logits, targets)
    soft = F.kl_div(
        F.log_softmax(student_logits / temperature, dim=1),
        F.log_softmax(teacher_logits / temperature, dim=1),
        log_target=True,
        reduction="batchmean",
    )
    return (1 - weight) * hard + weight * temperature**2 * soft
