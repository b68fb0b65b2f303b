"""Polygon and box helpers in plain numpy (image coordinates, x right, y down)."""

from __future__ import annotations

from collections.abc import Sequence

Box = tuple[float, float, float, float]  # xyxy


def point_in_polygon(x: float, y: float, polygon: Sequence[tuple[float, float]]) -> bool:
    """Even-odd ray casting; a point exactly on an edge may fall either side."""
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def overlap_fraction(box: Box, other: Box) -> float:
    """Share of ``box``'s area that ``other`` covers (0..1)."""
    w = min(box[2], other[2]) - max(box[0], other[0])
    h = min(box[3], other[3]) - max(box[1], other[1])
    if w <= 0 or h <= 0:
        return 0.0
    area = (box[2] - box[0]) * (box[3] - box[1])
    return w * h / area if area > 0 else 0.0
