"""The tracker keeps identities through a hand's occlusion, crossings and misses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.track import ByteTracker

FPS = 15.0


@dataclass(frozen=True)
class Dets:
    xyxy_px: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray


def dets(*rows: tuple[float, float, float, float, float, int]) -> Dets:
    """Build one frame's detections from (x0, y0, x1, y1, score, class_id) rows."""
    a = np.array(rows, dtype=float).reshape(-1, 6)
    return Dets(a[:, :4], a[:, 4], a[:, 5].astype(int))


def run(frames: list[Dets]) -> list[dict[int, tuple[float, ...]]]:
    tracker = ByteTracker()
    out = []
    for i, d in enumerate(frames):
        objs = tracker.update(d, i / FPS)
        out.append({o.track_id: (*o.xyxy_px, o.class_id) for o in objs})
    return out


def test_item_keeps_identity_while_a_hand_covers_it() -> None:
    item = (100, 100, 140, 140)
    frames = [dets((*item, 0.9, 0)) for _ in range(5)]
    # The hand slides over the item: its score drops (partly hidden), then it vanishes.
    for k in range(4):
        frames.append(dets((*item, 0.3, 0), (90 + k, 90, 150, 150, 0.9, 1)))
    for _ in range(8):
        frames.append(dets((95, 95, 150, 150, 0.9, 1)))
    frames += [dets((*item, 0.9, 0)) for _ in range(3)]
    result = run(frames)
    product_ids = {tid for f in result for tid, v in f.items() if v[4] == 0}
    assert len(product_ids) == 1
    assert product_ids <= set(result[-1])


def test_item_carried_while_hidden_is_refound_nearby() -> None:
    frames = [dets((100 + 4 * i, 100, 140 + 4 * i, 140, 0.9, 0)) for i in range(6)]
    frames += [dets() for _ in range(5)]  # fully hidden for a third of a second
    frames += [dets((160 + 4 * i, 102, 200 + 4 * i, 142, 0.9, 0)) for i in range(4)]
    result = run(frames)
    ids = {tid for f in result for tid in f}
    assert len(ids) == 1


def test_two_items_crossing_keep_their_identities() -> None:
    frames = []
    for i in range(20):
        a = (10 + 10 * i, 50, 50 + 10 * i, 90)
        b = (210 - 10 * i, 60, 250 - 10 * i, 100)
        frames.append(dets((*a, 0.9, 0), (*b, 0.9, 0)))
    result = run(frames)
    first, last = result[2], result[-1]
    left_id = min(first, key=lambda t: first[t][0])
    assert last[left_id][0] > 150  # the one that began on the left ended on the right
    assert len({tid for f in result for tid in f}) == 2


def test_hand_never_takes_over_an_item() -> None:
    frames = [dets((100, 100, 140, 140, 0.9, 0)) for _ in range(4)]
    frames += [dets((100, 100, 140, 140, 0.9, 1)) for _ in range(4)]
    result = run(frames)
    classes_by_id: dict[int, set[int]] = {}
    for f in result:
        for tid, v in f.items():
            classes_by_id.setdefault(tid, set()).add(int(v[4]))
    assert all(len(c) == 1 for c in classes_by_id.values())
    assert len(classes_by_id) == 2


def test_single_false_positive_never_becomes_a_track() -> None:
    frames = [dets(), dets((10, 10, 30, 30, 0.95, 0)), dets(), dets()]
    assert all(f == {} for f in run(frames))


def test_lost_track_is_dropped_after_its_buffer() -> None:
    tracker = ByteTracker(lost_buffer_s=0.5)
    for i in range(3):
        tracker.update(dets((0, 0, 10, 10, 0.9, 0)), i / FPS)
    tracker.update(dets(), 1.0)
    assert tracker.active_count() == 0


def test_a_resting_item_hidden_by_a_hand_does_not_take_the_neighbour_put_down_beside_it() -> None:
    """The tomato lies still; a hand covers it while a lemon goes down overlapping its box: the
    lemon gets a track of its own, and the tomato, uncovered, is found again as itself."""
    tomato = (100, 100, 140, 140)
    frames = [dets((*tomato, 0.9, 0)) for _ in range(10)]
    for k in range(6):  # the tomato hidden; the lemon lowered in, overlapping its right half
        frames.append(dets((120, 100 + k, 155, 135 + k, 0.9, 0), (110, 60, 170, 110, 0.9, 1)))
    frames += [dets((*tomato, 0.9, 0), (120, 105, 155, 140, 0.9, 0)) for _ in range(4)]
    result = run(frames)
    tomato_id = next(iter(result[5]))
    assert result[-1][tomato_id][:4] == tomato  # the tomato kept its identity
    lemon_ids = {tid for f in result[10:] for tid, v in f.items() if v[4] == 0} - {tomato_id}
    assert len(lemon_ids) == 1


def test_a_resting_item_keeps_a_detection_of_its_uncovered_part() -> None:
    """A hand hides the left half of a resting carton: its smaller box is still the carton."""
    carton = (100, 100, 160, 180)
    frames = [dets((*carton, 0.9, 0)) for _ in range(10)]
    frames += [dets((130, 100, 160, 180, 0.5, 0), (80, 90, 132, 190, 0.9, 1)) for _ in range(6)]
    frames += [dets((*carton, 0.9, 0)) for _ in range(3)]
    result = run(frames)
    assert len({tid for f in result for tid, v in f.items() if v[4] == 0}) == 1
