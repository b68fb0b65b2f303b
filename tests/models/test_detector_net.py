"""The detector's size knobs: what they freeze, what they add, and that each exports to ONNX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from models.detector_net import V1_1, DetectorArch, DetectorNet  # noqa: E402
from models.export import check_against_torch, export_fp32  # noqa: E402

WIDER = DetectorArch(frozen_blocks=3, neck_ch=96, head_units=2, context_blocks=2)


def test_v1_1_keeps_its_parameter_names() -> None:
    """A checkpoint of the committed recipe still loads: the knobs add keys only when used."""
    names = set(DetectorNet(arch=V1_1).state_dict())
    assert not any(n.startswith(("context", "lateral32")) for n in names)
    assert {"context.0._depthwise_conv.weight", "lateral32.0.weight"} <= set(
        DetectorNet(arch=WIDER).state_dict()
    )


def test_only_the_frozen_prefix_keeps_its_weights() -> None:
    net = DetectorNet(arch=WIDER)
    net.freeze_prefix()
    frozen = [p.requires_grad for p in net.blocks[:3].parameters()]
    trained = [p.requires_grad for p in net.blocks[3:].parameters()]
    assert frozen and not any(frozen)
    assert all(trained) and all(p.requires_grad for p in net.context.parameters())
    net.train()
    assert not net.blocks[2].training and net.blocks[3].training  # frozen BN stays in eval


def test_context_blocks_fit_an_odd_stride_16_map(tmp_path: Path) -> None:
    """240 rows are 15 at stride 16 and 8 at stride 32: the output keeps the stride-8 grid,
    and ONNX Runtime computes what PyTorch does."""
    net = DetectorNet(arch=WIDER).eval()
    heatmap, box = net(torch.zeros(1, 3, 240, 320))
    assert heatmap.shape == (1, 2, 30, 40) and box.shape == (1, 4, 30, 40)
    onnx_path = export_fp32(
        net, torch.zeros(1, 3, 240, 320), tmp_path / "d.onnx", ("heatmap", "box"), False
    )
    image = np.random.default_rng(0).uniform(0, 255, (1, 3, 240, 320)).astype(np.float32)
    assert check_against_torch(net, onnx_path, image, atol=1e-3) < 1e-3


@pytest.mark.parametrize(
    "bad", [{"frozen_blocks": 12}, {"context_blocks": 5}, {"neck_ch": 4}, {"head_units": 0}]
)
def test_impossible_sizes_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        DetectorArch(**bad)


def test_the_committed_detector_has_the_recipes_input_size() -> None:
    """`smartcart models retrain` trains at ``INPUT_WH_PX``: what it makes is what is committed."""
    from models import manifest
    from models.train_detector import INPUT_WH_PX

    width, height = INPUT_WH_PX
    assert manifest.entry("detector").input["shape"][2:] == [height, width]


@pytest.mark.parametrize("size", [(416, 312), (380, 288)])
def test_an_input_off_the_stride_16_grid_is_refused(size: tuple[int, int]) -> None:
    from models.train_detector import DetectorTrainConfig

    with pytest.raises(ValueError, match="multiples of 16"):
        DetectorTrainConfig(Path("data"), Path("out"), input_wh_px=size)
