"""The basket detector network: truncated EfficientNet-Lite0 + a CenterNet-style head at stride 8.

Backbone: the ImageNet stem and blocks 0-10 (up to the 112-channel stage, stride 16); the 192/320
channel stages are dropped, which keeps it near 0.3 GFLOPs at 320x240. Neck: the stride-16
features upsampled and added to the stride-8 ones (one FPN step). Heads, per stride-8 cell:
``heatmap`` (K sigmoid scores, peaks at object centres) and ``box`` (distances in input pixels to
the box's left, top, right, bottom edges). Decoding and NMS are numpy, in
``firmware.vision.detector``, shared by evaluation and the cart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.efficientnet_lite import EfficientNetLite0, load_imagenet

STRIDE = 8
NUM_CLASSES = 2  # product, hand
STRIDE8_BLOCK = 5  # output of _blocks[4] is the last stride-8 (40-channel) map
LAST_BLOCK = 11  # _blocks[0:11] end at the 112-channel, stride-16 stage
STRIDE32_BLOCKS = 4  # _blocks[11:15]: the 192-channel, stride-32 stage
BOX_SCALE_PX = 16.0  # box head output unit: keeps raw values near 1 for typical objects
PRIOR = 0.01  # initial heatmap probability (focal-loss practice: avoids a flood of false peaks)


@dataclass(frozen=True)
class DetectorArch:
    """The knobs of the network's size; a run's ``config.json`` records them for its export."""

    frozen_blocks: int = 5  # stem + _blocks[:n] keep their ImageNet weights (5: all of stride <= 8)
    neck_ch: int = 64
    head_units: int = 1  # depthwise 3x3 + pointwise pairs in each head before its output conv
    context_blocks: int = 0  # blocks of the stride-32 stage added top-down (0: none)

    def __post_init__(self) -> None:
        if not 0 <= self.frozen_blocks <= LAST_BLOCK:
            raise ValueError(f"frozen_blocks: 0..{LAST_BLOCK}, not {self.frozen_blocks}")
        if not 0 <= self.context_blocks <= STRIDE32_BLOCKS:
            raise ValueError(f"context_blocks: 0..{STRIDE32_BLOCKS}, not {self.context_blocks}")
        if self.neck_ch < 8 or self.head_units < 1:
            raise ValueError("neck_ch >= 8 and head_units >= 1")

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


V1_1 = DetectorArch()  # the committed detector v1.1.0


def _conv_bn_act(in_ch: int, out_ch: int, kernel: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU6(inplace=True),
    )


def _head(ch: int, units: int, out_ch: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(units):
        layers += [_conv_bn_act(ch, ch, 3, groups=ch), _conv_bn_act(ch, ch, 1)]
    return nn.Sequential(*layers, nn.Conv2d(ch, out_ch, 1))


class DetectorNet(nn.Module):
    def __init__(
        self, backbone: EfficientNetLite0 | None = None, arch: DetectorArch = V1_1
    ) -> None:
        super().__init__()
        self.arch = arch
        b = backbone if backbone is not None else EfficientNetLite0()
        ch = arch.neck_ch
        self.stem_conv, self.stem_bn, self.act = b._conv_stem, b._bn0, b.act
        self.register_buffer("mean", b.mean.clone(), persistent=False)
        self.register_buffer("std", b.std.clone(), persistent=False)
        self.blocks = nn.ModuleList(b._blocks[:LAST_BLOCK])
        # Stride-32 context (wider view of each object), only when asked for: keeps v1.1.0's keys.
        if arch.context_blocks:
            self.context = nn.ModuleList(b._blocks[LAST_BLOCK : LAST_BLOCK + arch.context_blocks])
            self.lateral32 = _conv_bn_act(192, ch)
        self.lateral8 = _conv_bn_act(40, ch)
        self.lateral16 = _conv_bn_act(112, ch)
        self.smooth = _conv_bn_act(ch, ch, 3, groups=ch)
        self.heatmap_head = _head(ch, arch.head_units, NUM_CLASSES)
        self.box_head = _head(ch, arch.head_units, 4)
        nn.init.constant_(self.heatmap_head[-1].bias, -math.log((1 - PRIOR) / PRIOR))
        nn.init.constant_(self.box_head[-1].bias, 1.0)

    @classmethod
    def from_imagenet(cls, arch: DetectorArch = V1_1) -> DetectorNet:
        return cls(load_imagenet(), arch)

    def frozen_modules(self) -> list[nn.Module]:
        return [self.stem_conv, self.stem_bn, *self.blocks[: self.arch.frozen_blocks]]

    def freeze_prefix(self) -> None:
        for m in self.frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> DetectorNet:
        super().train(mode)
        if mode:
            for m in self.frozen_modules():
                m.eval()
        return self

    def raw(self, x_rgb255: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,3,H,W) RGB 0..255 -> heatmap logits (N,K,H/8,W/8), box (N,4,H/8,W/8) in px."""
        x = self.act(self.stem_bn(self.stem_conv((x_rgb255 - self.mean) / self.std)))
        c8 = x
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i == STRIDE8_BLOCK - 1:
                c8 = x
        p16 = self.lateral16(x)
        if self.arch.context_blocks:
            for block in self.context:
                x = block(x)
            # 240 / 16 = 15 rows -> 8 at stride 32: upsample to the stride-16 map's own size.
            p16 = p16 + F.interpolate(self.lateral32(x), size=p16.shape[-2:], mode="nearest")
        p = self.lateral8(c8) + F.interpolate(p16, scale_factor=2.0, mode="nearest")
        p = self.smooth(p)
        box = F.relu(self.box_head(p)) * BOX_SCALE_PX
        return self.heatmap_head(p), box

    def forward(self, x_rgb255: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the ONNX graph returns: sigmoid heatmap and box distances (px)."""
        logits, box = self.raw(x_rgb255)
        return torch.sigmoid(logits), box
