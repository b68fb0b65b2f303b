"""The basket zone: which product tracks were added to or removed from the basket, and when.

A pure state machine over tracked boxes, tested by tables of frames (as supervision's
``LineZone``). Per product track it remembers, bounded and pruned:

- *outside*: the box centre has been outside the basket polygon for ``min_frames`` frames in a
  row since the item last rested in the basket (debounced, so jitter on the rim is no crossing);
- *rest*: the centre stayed within ``rest_px`` of one spot for ``rest_s`` and no hand covers
  the item (an item still held is not at rest, however still the hand is).

Events:
- **add**: an item that came from outside rests inside; ``t_s`` is when the rest began.
- **remove**: an item counted in the basket is outside again; ``t_s`` is when it crossed out.

Not events: hovering (in and out without resting), empty hands (hands are never items), items
shuffled inside (never outside), and an item whose track begins inside at rest (it was already
in the basket, e.g. a track re-found after a long occlusion).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from firmware.basket.geometry import Box, centre, overlap_fraction, point_in_polygon
from firmware.track import TrackedObject

PRODUCT, HAND = 0, 1


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    track_id: int
    action: Literal["add", "remove"]
    t_s: float


@dataclass(slots=True)
class _ItemState:
    inside: bool
    in_basket: bool = False
    came_from_outside: bool = False
    streak: int = 0  # consecutive frames on the other side of ``inside``
    streak_t_s: float = 0.0  # time the streak began
    anchor: tuple[float, float] = (0.0, 0.0)
    anchor_t_s: float = 0.0
    last_seen_t_s: float = 0.0


class BasketZone:
    def __init__(
        self,
        polygon_px: Sequence[tuple[float, float]],
        rest_s: float = 0.4,
        rest_px: float = 3.0,
        min_frames: int = 2,
        held_overlap: float = 0.15,
        forget_s: float = 30.0,
    ) -> None:
        self.polygon_px = tuple(polygon_px)
        self.rest_s = rest_s
        self.rest_px = rest_px
        self.min_frames = min_frames
        self.held_overlap = held_overlap
        self.forget_s = forget_s
        self._items: dict[int, _ItemState] = {}

    def tracked(self) -> set[int]:
        """Track ids the zone still remembers."""
        return set(self._items)

    def in_basket(self) -> set[int]:
        return {tid for tid, s in self._items.items() if s.in_basket}

    def held(self, box: Box, hands: Sequence[Box]) -> bool:
        return any(overlap_fraction(box, h) > self.held_overlap for h in hands)

    def update(self, tracks: Sequence[TrackedObject], t_s: float) -> list[ZoneEvent]:
        hands = [t.xyxy_px for t in tracks if t.class_id == HAND]
        events: list[ZoneEvent] = []
        for tr in tracks:
            if tr.class_id != PRODUCT:
                continue
            cx, cy = centre(tr.xyxy_px)
            inside = point_in_polygon(cx, cy, self.polygon_px)
            st = self._items.get(tr.track_id)
            if st is None:
                st = _ItemState(
                    inside=inside, came_from_outside=not inside, anchor=(cx, cy), anchor_t_s=t_s
                )
                self._items[tr.track_id] = st
            st.last_seen_t_s = t_s
            self._crossing(tr.track_id, st, inside, t_s, events)
            if abs(cx - st.anchor[0]) > self.rest_px or abs(cy - st.anchor[1]) > self.rest_px:
                st.anchor, st.anchor_t_s = (cx, cy), t_s
            resting = t_s - st.anchor_t_s >= self.rest_s and not self.held(tr.xyxy_px, hands)
            if st.inside and resting and not st.in_basket:
                st.in_basket = True
                if st.came_from_outside:
                    events.append(ZoneEvent(tr.track_id, "add", st.anchor_t_s))
                st.came_from_outside = False
        self._items = {
            k: s for k, s in self._items.items() if t_s - s.last_seen_t_s <= self.forget_s
        }
        return events

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
        st.came_from_outside = True
        if st.in_basket:
            st.in_basket = False
            events.append(ZoneEvent(track_id, "remove", st.streak_t_s))
