"""A small ByteTrack-style tracker, written here after weighing the libraries.

Why our own (checked November 2026, numpy 2, Python 3.11):
- supervision's ``ByteTrack`` is deprecated and removed in 0.31; its successor is Roboflow's
  ``trackers`` (2.6), which installs fine with numpy 2 but pulls supervision, scipy, matplotlib,
  pillow, av and the full ``opencv-python`` (clashing with our headless OpenCV): hundreds of MB
  on a Pi for ~150 lines of logic.
- Norfair's numpy 2 support is still an open issue.
So: ByteTrack's idea (Zhang et al. 2022) in plain numpy: predict each track with a damped
constant-velocity model; match confirmed and recently lost tracks to high-score detections by
IoU; then match the remaining live tracks to *low*-score detections (an item half hidden by a
hand scores low but is still the same item); then let unconfirmed tracks take what is left.
Unmatched high-score detections start tentative tracks, confirmed after ``min_hits`` frames.
A track unmatched for ``lost_buffer_s`` is dropped. Matching is per class (a hand never takes
over a product's identity) and greedy on IoU, which at the handful of objects in a basket picks
the same pairs as the Hungarian method. Lost tracks may also be re-found by centre distance
(an item carried while hidden moves without overlap), but only if it was moving when lost.

Identity through occlusion is pinned by tests (tests/firmware/track).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class DetectionsLike(Protocol):
    """What the tracker reads from ``firmware.vision.types.Detections`` (read-only)."""

    @property
    def xyxy_px(self) -> np.ndarray: ...  # (N, 4) float

    @property
    def scores(self) -> np.ndarray: ...  # (N,)

    @property
    def class_ids(self) -> np.ndarray: ...  # (N,) int: 0 product, 1 hand


@dataclass(frozen=True, slots=True)
class TrackedObject:
    track_id: int
    class_id: int
    xyxy_px: tuple[float, float, float, float]  # in the detection (lores) image
    score: float
    t_s: float
    detection_index: int  # row of this frame's detections, -1 when only predicted


@dataclass(slots=True)
class _Track:
    track_id: int
    class_id: int
    box: np.ndarray  # xyxy
    velocity: np.ndarray  # per second, xyxy
    score: float
    t_s: float  # last time matched
    hits: int = 1
    confirmed: bool = False
    # Where the item lies while it rests: its whole box, not the part a hand leaves uncovered.
    rest_box: np.ndarray | None = None


def _intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection area of every box in ``a`` (N,4) with every box in ``b`` (M,4), xyxy."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter: np.ndarray = np.prod(np.clip(br - tl, 0, None), axis=2)
    return inter


def _areas(boxes: np.ndarray) -> np.ndarray:
    areas: np.ndarray = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return areas


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N,4) with every box in ``b`` (M,4), xyxy."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    inter = _intersections(a, b)
    union = _areas(a)[:, None] + _areas(b)[None, :] - inter
    iou: np.ndarray = inter / np.maximum(union, 1e-9)
    return iou


def _inside_share(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of each box in ``a`` (N,4) inside each box in ``b`` (M,4): (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    share: np.ndarray = _intersections(a, b) / np.maximum(_areas(a)[:, None], 1e-9)
    return share


def _greedy(sim: np.ndarray, min_sim: float) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    if sim.size == 0:
        return pairs
    sim = sim.copy()
    while True:
        i, j = np.unravel_index(np.argmax(sim), sim.shape)
        if sim[i, j] < min_sim:
            return pairs
        pairs.append((int(i), int(j)))
        sim[i, :] = -1.0
        sim[:, j] = -1.0


class ByteTracker:
    def __init__(
        self,
        high_score: float = 0.45,
        low_score: float = 0.15,
        new_track_score: float = 0.45,
        match_iou: float = 0.2,
        low_match_iou: float = 0.4,
        min_hits: int = 2,
        lost_buffer_s: float = 1.5,
        max_jump: float = 1.5,
        min_jump_speed: float = 15.0,
        rest_hits: int = 8,
        rest_iou: float = 0.5,
        rest_inside: float = 0.8,
    ) -> None:
        self.high_score = high_score
        self.low_score = low_score
        self.new_track_score = new_track_score
        self.match_iou = match_iou
        self.low_match_iou = low_match_iou
        self.min_hits = min_hits
        self.lost_buffer_s = lost_buffer_s
        self.max_jump = max_jump  # re-find a lost track within this many box diagonals
        self.min_jump_speed = min_jump_speed  # px/s: below it a lost track is at rest
        # A track this many hits old and still rests where it lies (``rest_box``): it matches
        # only a detection with this IoU with that box, or this share of its area inside it.
        self.rest_hits = rest_hits
        self.rest_iou = rest_iou
        self.rest_inside = rest_inside
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._t_s: float | None = None

    def _predict(self, track: _Track, t_s: float) -> np.ndarray:
        dt = t_s - track.t_s
        # Damped: a hidden item is more likely held still than flying on in a straight line.
        box = track.box + track.velocity * min(dt, 0.2)
        centre, half = (box[:2] + box[2:]) / 2, np.abs(box[2:] - box[:2]) / 2
        return np.concatenate([centre - half, centre + half])  # never inside out

    def _similarity(self, tracks: list[_Track], boxes: np.ndarray, t_s: float) -> np.ndarray:
        if not tracks or len(boxes) == 0:
            return np.zeros((len(tracks), len(boxes)))
        pred = np.stack([self._predict(t, t_s) for t in tracks])
        # IoU damped by the size ratio: an item does not shrink to a third between two frames,
        # but a small item carried over a big one that a hand hides overlaps it well enough.
        area_p = np.prod(np.clip(pred[:, 2:] - pred[:, :2], 0, None), axis=1)[:, None]
        area_b = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)[None, :]
        ratio = np.minimum(area_p, area_b) / np.maximum(np.maximum(area_p, area_b), 1e-9)
        sim: np.ndarray = iou_matrix(pred, boxes) * np.sqrt(ratio)
        # A resting item does not move: it keeps a detection that is its own box, or a part of
        # it (a hand hides the rest), never one that reaches well past it: that is a neighbour
        # put down beside it, or the new item and the old one boxed together.
        for i, tr in enumerate(tracks):
            if tr.rest_box is not None:
                sim[i] = np.where(self._rests_in(tr.rest_box, boxes), sim[i], 0.0)
        # Lost tracks (not matched last frame) may be re-found by centre distance.
        for i, tr in enumerate(tracks):
            if tr.t_s >= (self._t_s or t_s):
                continue
            # Only a track lost while moving (carried) may jump: one lost at rest (hidden by a
            # hand reaching past) reappears where it was, and IoU finds it there; letting it
            # jump would hand a resting item's identity to an item carried in nearby.
            if self._speed(tr) < self.min_jump_speed:
                continue
            diag = float(np.hypot(*(pred[i, 2:] - pred[i, :2])))
            centre = (pred[i, :2] + pred[i, 2:]) / 2
            dist = np.hypot(*((boxes[:, :2] + boxes[:, 2:]) / 2 - centre).T)
            near = np.clip(1.0 - dist / (self.max_jump * max(diag, 1.0)), 0.0, 1.0)
            # Just above the IoU gate, ranked by nearness, below any good IoU match.
            sim[i] = np.maximum(sim[i], np.where(near > 0, self.match_iou * (1.0 + near), 0.0))
        return sim

    def _rests_in(self, rest_box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Which of ``boxes`` are the resting item's own box, or a part of it."""
        lay = rest_box[None]
        own = iou_matrix(boxes, lay)[:, 0] >= self.rest_iou
        part: np.ndarray = _inside_share(boxes, lay)[:, 0] >= self.rest_inside
        return own | part

    def _update_rest(self, tr: _Track, box: np.ndarray) -> None:
        """After ``tr`` matched ``box``. A part of where it rests (a hand covers the rest)
        leaves the rest as it was, whatever that box's jump did to the velocity. Otherwise a
        moving track (lifted) rests nowhere, and a still one rests on its box once it is old
        enough to be an item lying in the basket."""
        rest = tr.rest_box
        if rest is not None and iou_matrix(box[None], rest[None])[0, 0] < self.rest_iou:
            return  # only a part of it, let through by _rests_in
        if self._speed(tr) >= self.min_jump_speed:
            tr.rest_box = None
        elif tr.rest_box is not None or tr.hits >= self.rest_hits:
            tr.rest_box = box.copy()

    @staticmethod
    def _speed(track: _Track) -> float:
        """Of the box's centre, px/s."""
        return float(np.hypot(*((track.velocity[:2] + track.velocity[2:]) / 2)))

    def _same_class(self, sim: np.ndarray, tracks: list[_Track], classes: np.ndarray) -> np.ndarray:
        if not sim.size:
            return sim
        same = np.array([t.class_id for t in tracks])[:, None] == classes[None, :]
        return np.where(same, sim, 0.0)

    def update(self, det: DetectionsLike, t_s: float) -> list[TrackedObject]:
        """Match this frame's detections; returns the confirmed tracks seen in this frame."""
        boxes = np.asarray(det.xyxy_px, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(det.scores, dtype=np.float64).reshape(-1)
        classes = np.asarray(det.class_ids).reshape(-1).astype(int)
        high = np.flatnonzero(scores >= self.high_score)
        low = np.flatnonzero((scores >= self.low_score) & (scores < self.high_score))
        matched: dict[int, int] = {}  # track index -> detection index

        def match(track_ix: list[int], det_ix: np.ndarray, min_sim: float) -> np.ndarray:
            tracks = [self._tracks[i] for i in track_ix]
            sim = self._same_class(
                self._similarity(tracks, boxes[det_ix], t_s), tracks, classes[det_ix]
            )
            used = set()
            for ti, di in _greedy(sim, min_sim):
                matched[track_ix[ti]] = int(det_ix[di])
                used.add(di)
            return np.array([d for k, d in enumerate(det_ix) if k not in used], dtype=int)

        confirmed = [i for i, t in enumerate(self._tracks) if t.confirmed]
        rest_high = match(confirmed, high, self.match_iou)
        live = [i for i in confirmed if i not in matched and self._tracks[i].t_s == self._t_s]
        match(live, low, self.low_match_iou)
        tentative = [i for i, t in enumerate(self._tracks) if not t.confirmed]
        rest_high = match(tentative, rest_high, self.match_iou)

        det_of_id = {self._tracks[ti].track_id: di for ti, di in matched.items()}
        for ti, di in matched.items():
            tr = self._tracks[ti]
            dt = max(t_s - tr.t_s, 1e-3)
            v = (boxes[di] - tr.box) / dt
            tr.velocity = 0.5 * tr.velocity + 0.5 * v
            tr.box, tr.score, tr.t_s = boxes[di].copy(), float(scores[di]), t_s
            tr.hits += 1
            tr.confirmed = tr.confirmed or tr.hits >= self.min_hits
            self._update_rest(tr, boxes[di])
        for di in rest_high:
            if scores[di] >= self.new_track_score:
                det_of_id[self._next_id] = int(di)
                self._tracks.append(
                    _Track(
                        self._next_id,
                        int(classes[di]),
                        boxes[di].copy(),
                        np.zeros(4),
                        float(scores[di]),
                        t_s,
                        confirmed=self.min_hits <= 1,
                    )
                )
                self._next_id += 1
        # Drop tentative tracks at their first miss and lost tracks past the buffer.
        self._tracks = [
            t
            for t in self._tracks
            if t.t_s == t_s or (t.confirmed and t_s - t.t_s <= self.lost_buffer_s)
        ]
        self._t_s = t_s
        return [
            TrackedObject(
                t.track_id,
                t.class_id,
                (t.box[0], t.box[1], t.box[2], t.box[3]),
                t.score,
                t_s,
                det_of_id.get(t.track_id, -1),
            )
            for t in self._tracks
            if t.confirmed and t.t_s == t_s
        ]

    def active_count(self) -> int:
        return len(self._tracks)
