"""Where the basket changed between two hand-free views: the place of an item no track showed.

The load cells catch an item put in that vision never boxed apart (carried in under the hand,
put down against or on another item). The scale's own event then has a weight but no name.
Comparing a view of the basket from before the gesture with one after it shows where the new
item lies: the largest region inside the basket polygon that differs, after blurring away
sensor noise and JPEG ringing. Its crop from the full-resolution frame is what the recognizer
names. Pure numpy/OpenCV on the small detection image; run only for such an event.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from firmware.basket.geometry import Box

DIFF_LEVEL = 40  # per-channel difference (0-255) that counts as changed, above noise and JPEG
MIN_AREA = 0.0015  # of the image (~10 x 10 px at 320 x 240): smaller is noise or a nudge
MARGIN = 0.1  # of the region's size on each side: the item's edge blends into the background
RIM_PX = 2  # a region this near the basket polygon's edge reaches in from outside: an arm


def changed_region(
    before_bgr: np.ndarray, after_bgr: np.ndarray, polygon_px: Sequence[tuple[float, float]]
) -> Box | None:
    """The bounding box (pixels of these images) of the largest region inside the polygon
    that differs between two views of the same size, one not touching its rim if any (an arm
    reaches in across it); None when nothing sizeable changed."""
    if before_bgr.shape != after_bgr.shape:
        raise ValueError(f"views differ in size: {before_bgr.shape} vs {after_bgr.shape}")
    h, w = after_bgr.shape[:2]
    a = cv2.GaussianBlur(before_bgr, (5, 5), 0)
    b = cv2.GaussianBlur(after_bgr, (5, 5), 0)
    changed = (cv2.absdiff(a, b).max(axis=2) > DIFF_LEVEL).astype(np.uint8)
    inside = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inside, [np.round(np.asarray(polygon_px)).astype(np.int32)], 1)
    changed &= inside
    changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    changed = cv2.morphologyEx(changed, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed)
    # An arm reaches in across the basket's rim; an item lies inside it.
    rim = inside - cv2.erode(inside, np.ones((2 * RIM_PX + 1,) * 2, np.uint8))
    reaching_in = set(np.unique(labels[rim > 0]).tolist())
    regions = [
        (label not in reaching_in, int(area), int(x), int(y), int(bw), int(bh))
        for label, (x, y, bw, bh, area) in enumerate(stats[:count])
        if label != 0
    ]
    if not regions:
        return None
    # Else an item lying against the rim (426702: a milk carton put down at the basket's
    # side): the caller asks only once no hand has been in view.
    _, area, x, y, bw, bh = max(regions)
    if area < MIN_AREA * w * h:
        return None
    mx, my = MARGIN * bw, MARGIN * bh
    return (
        max(0.0, x - mx),
        max(0.0, y - my),
        min(float(w), x + bw + mx),
        min(float(h), y + bh + my),
    )
