"""A tiny synthetic cartfeed/1 writer and colour-blob test doubles for pipeline wiring tests.

Not a simulator and not a model: a green square is "the item", a blue bar "the hand", and
``ColourDetector`` finds them by colour so tests of the feed reader, scale replay, pipeline and
event output run in a second without ONNX models. Accuracy is measured on rendered feeds with the
real models (tests/firmware/test_feed_accuracy.py), never with these.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

W, H, FPS = 320, 240, 15
POLYGON = [[0.0, 0.4], [1.0, 0.4], [1.0, 1.0], [0.0, 1.0]]
ITEM = 30


@dataclass(frozen=True)
class Dets:
    xyxy_px: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray


class ColourDetector:
    """Green blobs are products (class 0), blue blobs hands (class 1)."""

    def detect(self, frame_bgr: np.ndarray) -> Dets:
        rows = []
        for cls, (lo, hi) in enumerate(
            (((0, 150, 0), (90, 255, 90)), ((150, 0, 0), (255, 90, 90)))
        ):
            mask = cv2.inRange(frame_bgr, np.array(lo), np.array(hi))
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for x, y, w, h, area in stats[1:n]:
                if area >= 40:
                    rows.append((x, y, x + w, y + h, 0.9, cls))
        a = np.array(rows, dtype=np.float32).reshape(-1, 6)
        return Dets(a[:, :4], a[:, 4], a[:, 5].astype(np.int64))


@dataclass(frozen=True)
class Rec:
    top: tuple[tuple[str, float], ...]


class AlwaysLemon:
    """Names every crop a lemon (counts the crops it was shown)."""

    def __init__(self) -> None:
        self.crops_seen = 0

    def recognize(self, crops: list[np.ndarray]) -> list[Rec]:
        self.crops_seen += len(crops)
        return [Rec((("lemon", 0.9), ("lime", 0.1)))] * len(crops)


def _path(t_s: float, t_in: float, t_out: float) -> tuple[tuple[float, float] | None, bool]:
    """Item centre and whether the hand holds it, for an add at t_in and a remove at t_out."""
    rest = (160.0, 170.0)
    if t_s < t_in - 1.0:
        return None, False
    if t_s < t_in:  # carried down from the top edge
        k = t_s - (t_in - 1.0)
        return (160.0, 20.0 + k * (rest[1] - 20.0)), True
    if t_s < t_in + 0.3:
        return rest, True  # released after 0.3 s
    if t_s < t_out:
        return rest, False
    if t_s < t_out + 1.0:
        k = t_s - t_out
        return (160.0, rest[1] - k * (rest[1] - 20.0)), True
    return None, False


def write_feed(
    out: Path,
    seconds: float = 8.0,
    t_in: float = 2.0,
    t_out: float = 5.0,
    grams: float = 111.0,
    truncate_video_at: int | None = None,
    scale: bool = True,
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    n = int(seconds * FPS)
    writer = cv2.VideoWriter(str(out / "video.avi"), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    for i in range(n if truncate_video_at is None else truncate_video_at):
        img = np.full((H, W, 3), 110, np.uint8)
        cv2.rectangle(img, (0, int(0.4 * H)), (W - 1, H - 1), (70, 70, 70), -1)
        pos, held = _path(i / FPS, t_in, t_out)
        if pos is not None:
            x, y = int(pos[0]), int(pos[1])
            cv2.rectangle(
                img,
                (x - ITEM // 2, y - ITEM // 2),
                (x + ITEM // 2, y + ITEM // 2),
                (40, 220, 40),
                -1,
            )
            if held:
                cv2.rectangle(img, (x - 8, y - ITEM // 2 - 40), (x + 8, y - 5), (230, 40, 40), -1)
        writer.write(img)
    writer.release()
    with (out / "frames.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame_index", "t"])
        w.writerows([i, round(i / FPS, 4)] for i in range(n))
    if scale:
        rng = np.random.default_rng(0)
        with (out / "scale.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t", "grams"])
            for k in range(int(seconds * 20)):
                t = k / 20
                g = grams if t_in + 0.3 <= t < t_out + 0.2 else 0.0
                w.writerow([round(t, 3), round(g + rng.normal(0, 0.7), 2)])
    meta = {
        "format": "cartfeed/1",
        "cart_id": "cart-test",
        "fps": FPS,
        "width": W,
        "height": H,
        "basket_polygon": POLYGON,
        "catalog": "grocery-store/81",
        "source": "simulated",
        "notes": "synthetic colour-blob feed for wiring tests",
    }
    (out / "meta.json").write_text(json.dumps(meta))
    return out
