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

import torch
import torch.nn.functional as F
from torch import nn

from models.efficientnet_lite import EfficientNetLite0, load_imagenet

STRIDE = 8
NUM_CLASSES = 2  # product, hand
STRIDE8_BLOCK = 5  # output of _blocks[4] is the last stride-8 (40-channel) map
LAST_BLOCK = 11  # _blocks[0:11] end at the 112-channel, stride-16 stage
FROZEN_BLOCKS = 5  # stem + _blocks[0:5] (stride <= 8) keep their ImageNet weights: CPU budget
NECK_CH = 64
BOX_SCALE_PX = 16.0  # box head output unit: keeps raw values near 1 for typical objects
PRIOR = 0.01  # initial heatmap probability (focal-loss practice: avoids a flood of false peaks)


def _conv_bn_act(in_ch: int, out_ch: int, kernel: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU6(inplace=True),
    )


def _head(out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        _conv_bn_act(NECK_CH, NECK_CH, 3, groups=NECK_CH),
        _conv_bn_act(NECK_CH, NECK_CH, 1),
        nn.Conv2d(NECK_CH, out_ch, 1),
    )


class DetectorNet(nn.Module):
    def __init__(self, backbone: EfficientNetLite0 | None = None) -> None:
        super().__init__()
        b = backbone if backbone is not None else EfficientNetLite0()
        self.stem_conv, self.stem_bn, self.act = b._conv_stem, b._bn0, b.act
        self.register_buffer("mean", b.mean.clone(), persistent=False)
        self.register_buffer("std", b.std.clone(), persistent=False)
        self.blocks = nn.ModuleList(b._blocks[:LAST_BLOCK])
        self.lateral8 = _conv_bn_act(40, NECK_CH)
        self.lateral16 = _conv_bn_act(112, NECK_CH)
        self.smooth = _conv_bn_act(NECK_CH, NECK_CH, 3, groups=NECK_CH)
        self.heatmap_head = _head(NUM_CLASSES)
        self.box_head = _head(4)
        nn.init.constant_(self.heatmap_head[-1].bias, -math.log((1 - PRIOR) / PRIOR))
        nn.init.constant_(self.box_head[-1].bias, 1.0)

    @classmethod
    def from_imagenet(cls) -> DetectorNet:
        return cls(load_imagenet())

    def frozen_modules(self) -> list[nn.Module]:
        return [self.stem_conv, self.stem_bn, *self.blocks[:FROZEN_BLOCKS]]

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
        p = self.lateral8(c8) + F.interpolate(self.lateral16(x), scale_factor=2.0, mode="nearest")
        p = self.smooth(p)
        box = F.relu(self.box_head(p)) * BOX_SCALE_PX
        return self.heatmap_head(p), box

    def forward(self, x_rgb255: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the ONNX graph returns: sigmoid heatmap and box distances (px)."""
        logits, box = self.raw(x_rgb255)
        return torch.sigmoid(logits), box
