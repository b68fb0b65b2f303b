"""Table tests of the basket zone: sequences of frames -> the events expected.

The basket is the lower half of a 320x240 image; items are 30 px boxes given by their centre.
Each scenario is a list of frames, each a tuple of (track_id, class_id, cx, cy) objects.
"""

from __future__ import annotations

import pytest

from firmware.basket.zone import HAND, PRODUCT, BasketZone, ZoneEvent
from firmware.track import TrackedObject

FPS = 15
POLYGON = ((0.0, 120.0), (320.0, 120.0), (320.0, 240.0), (0.0, 240.0))
OUT, IN, IN2 = (160.0, 60.0), (160.0, 180.0), (80.0, 200.0)


def obj(tid: int, cls: int, cx: float, cy: float, t_s: float) -> TrackedObject:
    return TrackedObject(tid, cls, (cx - 15, cy - 15, cx + 15, cy + 15), 0.9, t_s, 0)


def hold(n: int, *objs: tuple[int, int, tuple[float, float]]) -> list[list[tuple]]:
    """``n`` frames of the objects standing still (no objects: ``n`` empty frames)."""
    return [[(tid, cls, *xy) for tid, cls, xy in objs] for _ in range(n)]


def move(
    n: int, tid: int, a: tuple[float, float], b: tuple[float, float], with_hand: bool = True
) -> list[list[tuple]]:
    frames = []
    for k in range(n):
        x = a[0] + (b[0] - a[0]) * (k + 1) / n
        y = a[1] + (b[1] - a[1]) * (k + 1) / n
        f = [(tid, PRODUCT, x, y)]
        if with_hand:
            f.append((99, HAND, x, y - 10))
        frames.append(f)
    return frames


def run(frames: list[list[tuple]], arrivals: bool = False) -> list[tuple[str, int, float]]:
    """The events decided (with ``arrivals``: the items reported coming in instead)."""
    zone = BasketZone(POLYGON, (320, 240), rest_s=0.4)
    events = []
    for i, f in enumerate(frames):
        t = i / FPS
        for e in zone.update([obj(tid, cls, x, y, t) for tid, cls, x, y in f], t):
            if e.arriving == arrivals:
                events.append((e.action, e.track_id, round(e.t_s, 2)))
    return events


def decided(zone: BasketZone, frames: list[list[tuple]]) -> list[ZoneEvent]:
    """The zone's events over ``frames`` but for arrivals."""
    events = []
    for i, f in enumerate(frames):
        t = i / FPS
        events += zone.update([obj(tid, cls, x, y, t) for tid, cls, x, y in f], t)
    return [e for e in events if not e.arriving]


ADD = hold(5, (1, PRODUCT, OUT)) + move(10, 1, OUT, IN) + hold(15, (1, PRODUCT, IN))
CASES = {
    "add: in from outside, comes to rest": (ADD, [("add", 1, 0.93)]),
    "hover: in and out again without resting": (
        hold(5, (1, PRODUCT, OUT))
        + move(8, 1, OUT, IN)
        + move(8, 1, IN, OUT)
        + hold(5, (1, PRODUCT, OUT)),
        [],
    ),
    "held still inside by a hand is not at rest": (
        hold(5, (1, PRODUCT, OUT))
        + move(8, 1, OUT, IN)
        + hold(20, (1, PRODUCT, IN), (99, HAND, (IN[0], IN[1] - 10)))
        + move(8, 1, IN, OUT),
        [],
    ),
    "empty hand in and out": (
        [[(99, HAND, 160, y)] for y in range(40, 230, 10)] + hold(10, (99, HAND, IN)),
        [],
    ),
    "remove: resting item lifted out": (
        ADD + move(10, 1, IN, OUT) + hold(5, (1, PRODUCT, OUT)),
        [("add", 1, 0.93), ("remove", 1, 2.33)],
    ),
    "shuffle inside is not an event": (
        ADD + move(10, 1, IN, IN2) + hold(15, (1, PRODUCT, IN2)),
        [("add", 1, 0.93)],
    ),
    "track born inside at rest was already in the basket": (
        hold(20, (7, PRODUCT, IN)),
        [],
    ),
    "re-found item later lifted out is a remove": (
        hold(20, (7, PRODUCT, IN)) + move(10, 7, IN, OUT) + hold(3, (7, PRODUCT, OUT)),
        [("remove", 7, 1.67)],
    ),
    "rim jitter of one frame is no crossing": (
        ADD + [[(1, PRODUCT, 160.0, 110.0)]] + hold(10, (1, PRODUCT, IN)),
        [("add", 1, 0.93)],
    ),
    "carried in from the image edge, never seen outside the polygon": (
        move(10, 3, (300.0, 228.0), IN) + hold(15, (3, PRODUCT, IN)),
        [("add", 3, 0.6)],
    ),
    "carried out of view at the image edge": (
        ADD + move(8, 1, IN, (160.0, 228.0)) + hold(8),
        [("add", 1, 0.93), ("remove", 1, 2.47)],
    ),
    "item resting at the image edge, re-found, is no add": (
        hold(20, (4, PRODUCT, (160.0, 228.0))),
        [],
    ),
    "two items added one after the other": (
        ADD
        + hold(3, (2, PRODUCT, OUT), (1, PRODUCT, IN))
        + [f + [(1, PRODUCT, *IN)] for f in move(10, 2, OUT, IN2)]
        + hold(10, (2, PRODUCT, IN2), (1, PRODUCT, IN)),
        [("add", 1, 0.93), ("add", 2, 2.8)],
    ),
}


@pytest.mark.parametrize("frames,expected", CASES.values(), ids=CASES.keys())
def test_zone_events(frames: list[list[tuple]], expected: list[tuple[str, int, float]]) -> None:
    assert run(frames) == expected


def test_remove_of_a_presumed_item_is_uncertain() -> None:
    zone = BasketZone(POLYGON, (320, 240))
    # Re-found mid-lift: begins inside, moving, never seen at rest.
    events = decided(zone, move(10, 7, IN, OUT) + hold(3, (7, PRODUCT, OUT)))
    assert [(e.action, e.certain) for e in events] == [("remove", False)]
    events = decided(zone, ADD + move(10, 1, IN, OUT))
    assert [(e.action, e.certain) for e in events] == [("add", True), ("remove", True)]


def test_item_first_seen_over_the_basket_then_resting_is_an_uncertain_add() -> None:
    zone = BasketZone(POLYGON, (320, 240))
    events = decided(zone, move(10, 5, IN2, IN) + hold(15, (5, PRODUCT, IN)))
    assert [(e.action, e.certain) for e in events] == [("add", False)]


def test_state_of_vanished_tracks_is_forgotten() -> None:
    zone = BasketZone(POLYGON, (320, 240), forget_s=1.0)
    zone.update([obj(1, PRODUCT, *IN, 0.0)], 0.0)
    zone.update([obj(2, PRODUCT, *IN, 5.0)], 5.0)
    assert set(zone._items) == {2}


def test_tracks_that_arrived_since_a_time_appeared_or_moved_away_from_where_they_lay() -> None:
    zone = BasketZone(POLYGON, (320, 240))
    frames = (
        hold(8, (1, PRODUCT, IN), (2, PRODUCT, IN2), (3, PRODUCT, (240.0, 200.0)))  # lying there
        + hold(1, (1, PRODUCT, (164.0, 182.0)), (2, PRODUCT, IN2), (3, PRODUCT, (240.0, 200.0)))
        + hold(1, (1, PRODUCT, IN), (2, PRODUCT, IN2), (3, PRODUCT, (240.0, 200.0)))  # jitter
        + hold(1, (1, PRODUCT, IN), (2, PRODUCT, (110.0, 200.0)), (3, PRODUCT, (240.0, 200.0)))
        + hold(1, (1, PRODUCT, IN), (2, PRODUCT, (140.0, 200.0)), (3, PRODUCT, (240.0, 200.0)))
        + hold(1, (1, PRODUCT, IN), (2, PRODUCT, (140.0, 200.0)), (4, PRODUCT, OUT))  # carried in
    )
    for i, f in enumerate(frames):
        t = i / FPS
        zone.update([obj(tid, cls, x, y, t) for tid, cls, x, y in f], t)
    # 2 slid (or its track jumped) 60 px; 1 only jittered; 3 lay still, then left view
    assert zone.arrived_since(8 / FPS) == {2, 4}
    assert zone.arrived_since(0.0) == {1, 2, 3, 4}


def test_items_lying_in_the_basket_in_view() -> None:
    zone = BasketZone(POLYGON, (320, 240))
    for k, t in enumerate((0.0, 0.5, 1.0)):
        # 1 lies in the basket, 2 hovers outside it, 3 lay there but was last seen at 0 s
        seen = [obj(1, PRODUCT, *IN, t), obj(2, PRODUCT, *OUT, t)]
        zone.update(seen + ([obj(3, PRODUCT, *IN2, t)] if k == 0 else []), t)
    assert zone.lying(1.0) == {1}


def test_hand_moving_off_a_still_item_has_let_go_while_it_still_touches_it() -> None:
    """The hand presses the item down, then rises off it: the add is decided when the hand
    leaves its grip, not only once it no longer touches the item's box (0.3-0.5 s later)."""
    hand_at = (IN[0], IN[1] - 10)
    rise = [[(1, PRODUCT, *IN), (99, HAND, IN[0], IN[1] - 10 - 4 * k)] for k in range(1, 11)]
    frames = (
        hold(5, (1, PRODUCT, OUT))
        + move(10, 1, OUT, IN)
        + hold(8, (1, PRODUCT, IN), (99, HAND, hand_at))  # pressing: grip kept, not at rest
        + rise
        + hold(5, (1, PRODUCT, IN))
    )
    # Rest from frame 23 (the first 4 px of the rise is within the grip); decided at frame 24,
    # while the hand's grown box still covers the item (it does until frame 27).
    assert run(frames) == [("add", 1, round(23 / FPS, 2))]


def test_gesture_pending_while_an_item_comes_in_or_is_lifted() -> None:
    zone = BasketZone(POLYGON, (320, 240), rest_s=0.4)
    frames = ADD + move(10, 1, IN, OUT) + hold(5, (1, PRODUCT, OUT))
    pending = []
    for i, f in enumerate(frames):
        t = i / FPS
        zone.update([obj(tid, cls, x, y, t) for tid, cls, x, y in f], t)
        pending.append(zone.gesture_pending(t))
    assert not any(pending[:10])  # outside the basket: nothing over it yet
    assert all(pending[10:21])  # carried in over the basket, not yet at rest
    assert not any(pending[21:30])  # at rest: the add is decided
    assert all(pending[30:36])  # lifted
    assert not any(pending[36:])  # crossed out: the remove is decided


def test_a_box_jittering_in_the_basket_is_no_lift() -> None:
    """A hand or a new item beside an item in the basket covers part of it: its box, and so its
    centre, shifts by a few pixels (more than ``rest_px``, less than ``travel_px``). That is no
    lift, so no gesture is pending (uncertain events need not wait for one)."""
    zone = BasketZone(POLYGON, (320, 240), rest_s=0.4)
    jitter = [(IN[0] + dx, IN[1]) for dx in (5, 0, 6, 2, 7, 0)]
    frames = ADD + [f for xy in jitter for f in hold(2, (1, PRODUCT, xy))]
    pending = []
    for i, f in enumerate(frames):
        t = i / FPS
        zone.update([obj(tid, cls, x, y, t) for tid, cls, x, y in f], t)
        pending.append(zone.gesture_pending(t))
    assert not any(pending[21:])


def test_an_item_lost_under_the_hand_and_found_again_at_rest_is_an_uncertain_add() -> None:
    zone = BasketZone(POLYGON, (320, 240))
    nudged = (IN[0] + 6, IN[1])
    # In the basket; the hand closes on it and it moves a little, then it is hidden (no
    # detection) for half a second, and found again lying where it was.
    frames = ADD + move(3, 1, IN, nudged) + hold(8) + hold(15, (1, PRODUCT, nudged))
    events = decided(zone, frames)
    assert [(e.action, e.certain) for e in events] == [
        ("add", True),
        ("remove", False),  # lost mid-gesture inside the image: the scale decides
        ("add", False),  # never seen outside: the scale decides this one too
    ]


def test_an_item_coming_in_is_reported_arriving_once_per_approach() -> None:
    """As it comes over the basket (the zone's add follows only once it is seen at rest);
    again after it was taken out and comes back."""
    assert run(ADD, arrivals=True) == [("add", 1, round(10 / FPS, 2))]
    hover_twice = (
        hold(5, (1, PRODUCT, OUT))
        + move(8, 1, OUT, IN)
        + move(8, 1, IN, OUT)
        + move(8, 1, OUT, IN)
        + hold(15, (1, PRODUCT, IN))
    )
    assert [e[:2] for e in run(hover_twice, arrivals=True)] == [("add", 1), ("add", 1)]
    assert run(hover_twice) == [("add", 1, round(28 / FPS, 2))]


def test_an_item_first_seen_over_the_basket_arrives_uncertain_unless_it_had_lain_still() -> None:
    """Carried in under the hand, first boxed over the basket and moving ever since: an
    uncertain arrival (the scale decides). A track that lay still first (an old item found
    again, or a track sliding from it onto the item the hand brings) is no arrival: its crops
    show the old item."""
    zone = BasketZone(POLYGON, (320, 240), rest_s=0.4)
    carried = move(10, 5, IN2, IN) + hold(15, (5, PRODUCT, IN))
    events = [e for i, f in enumerate(carried) for e in zone.update(
        [obj(tid, cls, x, y, i / FPS) for tid, cls, x, y in f], i / FPS)]  # fmt: skip
    assert [(e.action, e.arriving, e.certain) for e in events] == [
        ("add", True, False),
        ("add", False, False),
    ]
    slid = hold(10, (5, PRODUCT, IN2)) + move(10, 5, IN2, IN) + hold(15, (5, PRODUCT, IN))
    assert run(slid, arrivals=True) == []
