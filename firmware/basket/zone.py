"""The basket zone: which product tracks were added to or removed from the basket, and when.

A pure state machine over tracked boxes, tested by tables of frames (as supervision's
``LineZone``). Per product track it remembers, bounded and pruned:

- *from outside*: the track began outside the basket polygon or at the image border (an item
  carried in from out of view: on a cart camera the polygon reaches almost to the image edges,
  so a carried item is often first seen already over the basket), or its centre has been outside
  the polygon for ``min_frames`` frames in a row (debounced, so jitter on the rim is no crossing);
- *rest*: the centre stayed within ``rest_px`` of one spot for ``rest_s`` and no hand holds
  the item (an item still held is not at rest, however still the hand is). A hand touching
  the item holds it while it keeps the place it had on the item when the item stopped; once
  it moved by ``let_go`` of its own size while the item stayed put, it has let go, even if it
  still touches the item (the hand opening and rising off it: waiting for it to clear the
  item's box cost 0.3-0.5 s a gesture).

Events:
- **add**: an item that travelled at least ``travel_px`` comes to rest inside; ``t_s`` is when
  it was at rest: stopped moving and let go by the hand. Certain when it came from outside;
  otherwise (a track that began inside, e.g. an item hidden by the carrying hand until it was
  over the basket) ``certain=False``. Before that, once per approach, an add marked
  ``arriving``: an item carried in is over the basket (``t_s``: when it got there; certain as
  the add would be; see ``_coming_in``). The
  zone sees the rest only once the releasing hand has uncovered the item, 0.5-1 s after the
  item landed; the scale feels the landing at once, so fusion may confirm the add from the
  load and the item's name so far before the zone's own add comes.
- **remove**: an item in the basket whose centre crosses out of the polygon (``t_s``: the
  crossing), or that vanishes while moving (``t_s``: when last seen): carried out of view at the
  image border, or lost from sight mid-lift (then uncertain).

Not events: hovering (in and out without resting), empty hands (hands are never items), items
shuffled inside (never outside, no weight change), a track that begins inside at rest (an item
already in the basket, e.g. re-found after an occlusion: *presumed* in the basket until seen at
rest). Events marked ``certain=False`` are emitted by fusion only where the scale agrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from firmware.basket.geometry import Box, centre, overlap_fraction, point_in_polygon
from firmware.track import TrackedObject

PRODUCT, HAND = 0, 1


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    track_id: int
    action: Literal["add", "remove"]
    t_s: float
    certain: bool = True  # False: the zone could not see where the item came from
    moved_t_s: float | None = None  # add: when it stopped moving; remove: when it was lifted
    arriving: bool = False  # add: over the basket, coming in; not yet seen at rest


@dataclass(slots=True)
class _ItemState:
    inside: bool
    birth: tuple[float, float]
    anchor: tuple[float, float]
    anchor_t_s: float
    last_seen_t_s: float
    born_t_s: float = 0.0  # when the track was first seen
    lay_xy: tuple[float, float] | None = None  # where it last lay still
    moved_t_s: float = float("-inf")  # last seen moving, ``travel_px`` or more from ``lay_xy``
    came_from_outside: bool = False
    announced: bool = False  # its arrival over the basket was reported (this approach)
    in_basket: bool = False  # seen coming to rest inside (or lying there from the start)
    presumed: bool = False  # began inside, not yet seen at rest: maybe in the basket
    travelled_px: float = 0.0  # furthest from where the track began
    at_border: bool = False  # last box touched the image border
    streak: int = 0  # consecutive frames on the other side of ``inside``
    streak_t_s: float = 0.0  # time the streak began
    left_rest_t_s: float | None = None  # when it last started moving after a rest
    held_t_s: float = -1.0  # last time a hand held it
    # hand track id -> (dx, dy) of the hand's centre from the item's, in hand sizes, when it
    # first touched the item at this spot: a hand that keeps it holds the item, one that
    # moved let go of it
    grips: dict[int, tuple[float, float]] = field(default_factory=dict)


class BasketZone:
    def __init__(
        self,
        polygon_px: Sequence[tuple[float, float]],
        frame_wh: tuple[int, int],
        rest_s: float = 0.4,
        rest_px: float = 3.0,
        travel_px: float = 12.0,
        border_px: float = 3.0,
        exit_s: float = 0.3,
        min_frames: int = 2,
        held_overlap: float = 0.15,
        hand_margin: float = 0.25,
        let_go: float = 0.2,
        forget_s: float = 30.0,
    ) -> None:
        self.polygon_px = tuple(polygon_px)
        self.frame_wh = frame_wh
        self.rest_s = rest_s
        self.rest_px = rest_px
        self.travel_px = travel_px
        self.border_px = border_px
        self.exit_s = exit_s
        self.min_frames = min_frames
        self.held_overlap = held_overlap
        self.hand_margin = hand_margin
        self.let_go = let_go
        self.forget_s = forget_s
        self._items: dict[int, _ItemState] = {}

    def tracked(self) -> set[int]:
        """Track ids the zone still remembers."""
        return set(self._items)

    def lying(self, t_s: float) -> set[int]:
        """Track ids of items in the basket (seen at rest there, or presumed) in view at
        ``t_s``."""
        return {
            tid for tid, s in self._items.items()
            if (s.in_basket or s.presumed) and s.inside and t_s - s.last_seen_t_s <= self.exit_s
        }  # fmt: skip

    def arrived_since(self, t_s: float) -> set[int]:
        """Track ids the zone remembers that were first seen, or seen moving away from where
        they lay (``travel_px`` or more: carried, or a track that jumped to another item), at
        or after ``t_s``; not those lying still since before it (a jittering box included)."""
        return {
            tid for tid, s in self._items.items() if max(s.born_t_s, s.moved_t_s) >= t_s
        }  # fmt: skip

    def in_basket(self) -> set[int]:
        return {tid for tid, s in self._items.items() if s.in_basket}

    def gesture_pending(self, t_s: float) -> bool:
        """Whether a certain event may still come from what is in view now: an item seen
        coming in is over the basket but not yet at rest, or an item in the basket is being
        lifted: carried ``travel_px`` from where it lay within ``rest_s`` (fusion holds
        uncertain events back meanwhile, so the certain one claims the weight)."""
        for st in self._items.values():
            if t_s - st.last_seen_t_s > self.exit_s:
                continue
            if st.came_from_outside and st.inside and not st.in_basket:
                return True
            # Not a box jittering as a hand or a new item beside it covers part of it: that
            # held uncertain adds back 0.5-1 s for no lift at all.
            if st.in_basket and st.last_seen_t_s - st.moved_t_s < self.rest_s:
                return True
        return False

    def _coming_in(self, st: _ItemState) -> bool:
        """Over the basket, not yet at rest there, and carried in: seen coming from outside
        (certain), or first seen over the basket and moving ever since, ``travel_px`` or more
        (uncertain: an item carried in under the hand, first boxed once over the basket). Not a
        track that has lain still: an old item found again, or a track that slid from one onto
        the item a hand brings, whose crops show the old item."""
        if not st.inside or st.in_basket:
            return False
        if st.came_from_outside:
            return True
        return st.presumed and st.lay_xy is None and st.travelled_px >= self.travel_px

    def held(self, box: Box, hands: Sequence[Box]) -> bool:
        """A hand touches the item: its box, grown by ``hand_margin`` of its size on each side
        (fingers hold an item from one side, so the boxes barely overlap), covers part of it."""
        m = self.hand_margin
        grown = [(h[0] - m * (h[2] - h[0]), h[1] - m * (h[3] - h[1]),
                  h[2] + m * (h[2] - h[0]), h[3] + m * (h[3] - h[1])) for h in hands]  # fmt: skip
        return any(overlap_fraction(box, g) > self.held_overlap for g in grown)

    def _touches_border(self, box: Box) -> bool:
        w, h = self.frame_wh
        b = self.border_px
        return box[0] <= b or box[1] <= b or box[2] >= w - b or box[3] >= h - b

    def _holding(self, st: _ItemState, box: Box, hands: Sequence[tuple[int, Box]]) -> bool:
        """A hand touches the item and keeps its grip: its offset from the item is still the
        one it had when it first touched the item here."""
        cx, cy = centre(box)
        holding = False
        grips: dict[int, tuple[float, float]] = {}  # hands touching now (a new touch: new grip)
        for hand_id, h in hands:
            if not self.held(box, [h]):
                continue
            # In hand sizes: a hand lowering an item grows with it in the image, offset too.
            size = max((h[2] - h[0] + h[3] - h[1]) / 2, 1.0)
            hx, hy = centre(h)
            ox, oy = (hx - cx) / size, (hy - cy) / size
            dx, dy = grips[hand_id] = st.grips.get(hand_id, (ox, oy))
            if abs(ox - dx) + abs(oy - dy) <= self.let_go:
                holding = True
        st.grips = grips
        return holding

    def update(self, tracks: Sequence[TrackedObject], t_s: float) -> list[ZoneEvent]:
        hands = [(t.track_id, t.xyxy_px) for t in tracks if t.class_id == HAND]
        events: list[ZoneEvent] = []
        for tr in tracks:
            if tr.class_id == PRODUCT:
                self._see(tr, hands, t_s, events)
        self._vanished(t_s, events)
        self._items = {
            k: s for k, s in self._items.items() if t_s - s.last_seen_t_s <= self.forget_s
        }
        return events

    def _see(
        self, tr: TrackedObject, hands: list[tuple[int, Box]], t_s: float, events: list[ZoneEvent]
    ) -> None:
        cx, cy = centre(tr.xyxy_px)
        inside = point_in_polygon(cx, cy, self.polygon_px)
        border = self._touches_border(tr.xyxy_px)
        st = self._items.get(tr.track_id)
        if st is None:
            st = _ItemState(inside, (cx, cy), (cx, cy), t_s, t_s, born_t_s=t_s)
            st.came_from_outside = not inside or border
            st.presumed = not st.came_from_outside
            self._items[tr.track_id] = st
        was_still_s = st.last_seen_t_s - st.anchor_t_s  # still until the previous frame
        st.last_seen_t_s, st.at_border = t_s, border
        st.travelled_px = max(st.travelled_px, abs(cx - st.birth[0]) + abs(cy - st.birth[1]))
        self._crossing(tr.track_id, st, inside, t_s, events)
        if self._coming_in(st) and not st.announced:
            st.announced = True
            events.append(ZoneEvent(tr.track_id, "add", t_s, st.came_from_outside, arriving=True))
        if abs(cx - st.anchor[0]) > self.rest_px or abs(cy - st.anchor[1]) > self.rest_px:
            if was_still_s >= self.rest_s:
                st.left_rest_t_s = t_s  # it had been lying still: this is the lift
                st.lay_xy = st.anchor
            st.anchor, st.anchor_t_s = (cx, cy), t_s
            st.grips.clear()  # it moved: with the hand, or the hand moved it
        if (
            st.lay_xy is not None
            and t_s - st.anchor_t_s < self.rest_s
            and abs(cx - st.lay_xy[0]) + abs(cy - st.lay_xy[1]) >= self.travel_px
        ):
            st.moved_t_s = t_s
        held = self._holding(st, tr.xyxy_px, hands)
        if held:
            st.held_t_s = t_s
        resting = t_s - st.anchor_t_s >= self.rest_s and not held
        if not (st.inside and resting) or st.in_basket:
            return
        if st.travelled_px >= self.travel_px:
            # Came to rest somewhere new: an add, certain if it was seen coming in. A track that
            # began inside (hidden by the hand until then) may be an add or a shuffle: the
            # scale decides.
            # At rest since the later of: it stopped moving, the hand let go of it.
            rest_t_s = max(st.anchor_t_s, st.held_t_s)
            events.append(
                ZoneEvent(tr.track_id, "add", rest_t_s, st.came_from_outside, st.anchor_t_s)
            )
        st.in_basket, st.presumed, st.came_from_outside = True, False, False

    def _crossing(
        self, track_id: int, st: _ItemState, inside: bool, t_s: float, events: list[ZoneEvent]
    ) -> None:
        if inside == st.inside:
            st.streak = 0
            return
        if st.streak == 0:
            st.streak_t_s = t_s
        st.streak += 1
        if st.streak < self.min_frames:
            return
        st.inside, st.streak = inside, 0
        if inside:
            return
        st.came_from_outside, st.announced = True, False
        if st.in_basket or st.presumed:
            events.append(
                ZoneEvent(track_id, "remove", st.streak_t_s, st.in_basket, st.left_rest_t_s)
            )
            st.in_basket = st.presumed = False

    def _vanished(self, t_s: float, events: list[ZoneEvent]) -> None:
        """Items in the basket that vanished while moving, gone for ``exit_s``: carried out of
        view at the image border (certain), or lost from sight mid-lift inside the image
        (uncertain: the scale decides)."""
        for tid, st in self._items.items():
            gone_s = t_s - st.last_seen_t_s
            moving = st.last_seen_t_s - st.anchor_t_s < self.rest_s
            if (st.in_basket or st.presumed) and moving and gone_s >= self.exit_s:
                certain = st.in_basket and st.at_border
                events.append(ZoneEvent(tid, "remove", st.last_seen_t_s, certain, st.left_rest_t_s))
                st.in_basket = st.presumed = False
                # Lost inside the image, it may only have been hidden by the hand: found again
                # at rest inside, it is an uncertain add (the scale decides), not a certain one.
                st.came_from_outside = certain
