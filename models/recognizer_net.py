"""The recognizer network: EfficientNet-Lite0 features -> (logits over products, embedding).

The embedding is the pooled 1280-d feature, L2-normalised inside the graph, so a store can
enrol a new product by nearest neighbour without retraining (firmware/vision/gallery.py).
Training freezes the stem and the first blocks (up to stride 8): they are generic edge and
texture filters, and skipping their backward pass more than doubles throughput on this CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.efficientnet_lite import EfficientNetLite0, load_imagenet

FROZEN_BLOCKS = 5  # stem + _blocks[0:5] (stride <= 8) keep their ImageNet weights
EMBEDDING_DIM = 1280


class RecognizerNet(nn.Module):
    def __init__(self, num_classes: int, backbone: EfficientNetLite0 | None = None) -> None:
        super().__init__()
        self.backbone = backbone if backbone is not None else EfficientNetLite0()
        self.backbone._fc = nn.Linear(EMBEDDING_DIM, num_classes)
        nn.init.normal_(self.backbone._fc.weight, std=0.01)
        nn.init.zeros_(self.backbone._fc.bias)

    @classmethod
    def from_imagenet(cls, num_classes: int) -> RecognizerNet:
        return cls(num_classes, load_imagenet())

    def frozen_modules(self) -> list[nn.Module]:
        b = self.backbone
        return [b._conv_stem, b._bn0, *b._blocks[:FROZEN_BLOCKS]]

    def freeze_prefix(self) -> None:
        for m in self.frozen_modules():
            m.eval()  # BN keeps ImageNet statistics
            for p in m.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> RecognizerNet:
        super().train(mode)
        if mode:
            for m in self.frozen_modules():
                m.eval()
        return self

    def pooled(self, x_rgb255: torch.Tensor) -> torch.Tensor:
        b = self.backbone
        if self.training:
            with torch.no_grad():  # the frozen prefix needs no autograd graph
                x = b.stem(x_rgb255)
                for block in b._blocks[:FROZEN_BLOCKS]:
                    x = block(x)
        else:
            x = b.stem(x_rgb255)
            for block in b._blocks[:FROZEN_BLOCKS]:
                x = block(x)
        for block in b._blocks[FROZEN_BLOCKS:]:
            x = block(x)
        return b.act(b._bn1(b._conv_head(x))).mean(dim=(2, 3))

    def logits(self, x_rgb255: torch.Tensor) -> torch.Tensor:
        return self.backbone._fc(self.backbone._dropout(self.pooled(x_rgb255)))

    def forward(self, x_rgb255: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,3,S,S) RGB 0..255 -> (logits (N,C), L2-normalised embedding (N,1280))."""
        pooled = self.pooled(x_rgb255)
        return self.backbone._fc(pooled), F.normalize(pooled, dim=1)
