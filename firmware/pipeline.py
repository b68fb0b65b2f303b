"""The cart pipeline: frame -> motion gate -> detector -> tracker -> basket -> sink.

One ``CartPipeline`` per camera, fed one ``Frame`` at a time together with the scale samples
that arrived up to that frame's time. It owns the stage state (motion background, tracks, crop
bank, zone, settle detector, fuser), all bounded; it does no I/O of its own: the caller reads
the sources (live camera, feed replay) and hands the ``BasketChange`` values it returns to a sink
(the outbox live, a JSONL writer in a replay). Time is the frame's ``ts_ns`` throughout, so a
replay decides exactly as the live cart would have, only faster.

Per frame:
1. scale samples -> settle detector -> settled weight steps -> fuser;
2. motion gate on the lores image: the detector runs while anything moves and for ``hold_s``
   after (so an item that stops moving is seen at rest); an idle cart skips steps 3-5;
3. detector on the lores image (products and hands), tracker;
4. crop bank: full-resolution crops of product tracks, only when better than those kept;
5. zone: add/remove events, and arrivals (an item carried in, over the basket);
6. fuser: each event is named by voting the recognizer over its track's best crops (taken while
   the item lay still), then confirmed by the net weight change or made unresolved; a sure
   per-unit item is confirmed from the raw samples once they all agree with it, before the
   weight has settled, an arriving one as soon as the scale shows it landed and let go;
   returned to the caller. The zone tells the fuser whether a gesture is
   still in progress (``gesture_pending``), so uncertain events wait only while a certain one
   may still claim their weight.

The basket's memory, for naming: where each added item lay (``_covered``: a new item put down
on an old one shows the old one's pixels), and views of the basket alone (a change the scale
saw that no track names is named where the basket changed, ``firmware.basket.change``).

``StageTimes`` accumulates per-stage wall time (``time.perf_counter_ns``) for ``bench`` and the
live status line.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from firmware.basket.change import changed_region
from firmware.basket.changes import BasketChange, Candidate
from firmware.basket.fusion import Fuser, NamedEvent
from firmware.basket.geometry import Box, centre, overlap_fraction
from firmware.basket.naming import CropBank, RecognitionLike, crop_main, vote
from firmware.basket.zone import HAND, PRODUCT, BasketZone
from firmware.camera import Frame
from firmware.config import BasketConfig, ScaleConfig
from firmware.motion import MotionGate
from firmware.scale import ScaleSample, SettleDetector
from firmware.track import ByteTracker
from firmware.track.bytetrack import DetectionsLike
from smartcart.catalog import Catalog

# An item carried in comes into view at most this long before it weighs on the basket.
GESTURE_S = 3.0
# Added items remembered (their track, name and place), newest kept: more than a basket holds,
# and bounded, since one pipeline runs for the cart's lifetime and unloading is not always seen.
REMEMBERED_ITEMS = 64
ON_OTHER_ITEM = 0.5  # share of an added item's box on an earlier item's place: put down on it
VIEW_EVERY_S = 0.5  # views of the basket alone kept this far apart ...
VIEWS_KEPT = 40  # ... this many (20 s)
HAND_GONE_S = 0.5  # a view this long after the last hand seen ...
STILL_S = 0.3  # ... and after the last motion shows the basket alone
STAGES = ("capture", "motion", "detector", "tracker", "recognizer", "basket")


class DetectorLike(Protocol):
    def detect(self, frame_bgr: np.ndarray) -> DetectionsLike: ...


class RecognizerLike(Protocol):
    def recognize(self, crops_bgr: list[np.ndarray]) -> Sequence[RecognitionLike]: ...


@dataclass(slots=True)
class StageTimes:
    """Total nanoseconds per stage and frame counts (mutable: owned by one pipeline)."""

    ns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    frames: int = 0
    detected_frames: int = 0  # frames the motion gate let through to the detector

    def add(self, stage: str, start_ns: int) -> int:
        now = time.perf_counter_ns()
        self.ns[stage] += now - start_ns
        return now

    def ms_per_frame(self) -> dict[str, float]:
        n = max(self.frames, 1)
        return {k: v / n / 1e6 for k, v in self.ns.items()}


class CartPipeline:
    def __init__(
        self,
        detector: DetectorLike,
        recognizer: RecognizerLike,
        catalog: Catalog,
        polygon_norm: Sequence[tuple[float, float]],
        lores_wh: tuple[int, int],
        main_wh: tuple[int, int],
        t0_utc: datetime,
        basket: BasketConfig | None = None,
        scale: ScaleConfig | None = None,
        has_scale: bool = True,
        motion_gate: bool = True,
    ) -> None:
        basket = basket or BasketConfig()
        scale = scale or ScaleConfig()
        self.detector = detector
        self.recognizer = recognizer
        self.has_scale = has_scale
        self.times = StageTimes()
        lw, lh = lores_wh
        self._scale_xy = (main_wh[0] / lw, main_wh[1] / lh)
        self._motion = MotionGate() if motion_gate else None
        self._hold_s = basket.rest_s + 0.8
        self._last_motion_s = -1e9
        self._tracker = ByteTracker()
        self._bank = CropBank(k=4)
        self._region_vote: tuple[tuple[float, tuple[int, ...]], tuple[Candidate, ...]] | None = None
        self._zone = BasketZone(
            [(x * lw, y * lh) for x, y in polygon_norm],
            lores_wh,
            rest_s=basket.rest_s,
            rest_px=max(2.0, lw / 160),
        )
        ring = scale.ring()  # how the basket swings on its cells: settled levels, per-kg grams
        self._settle = SettleDetector(
            window_s=scale.settle_window_s,
            tolerance_g=scale.settle_tolerance_g,
            min_step_g=scale.min_step_g,
            silence_s=scale.silence_s,
            rel_tolerance=scale.settle_rel_tolerance,
            ring=ring,
        )
        self._fuser = Fuser(
            catalog,
            t0_utc,
            min_confidence=basket.min_confidence,
            weight_tolerance=basket.weight_tolerance,
            ring=ring,
        )
        self._levels_seen = 0
        self._last_centre: dict[int, tuple[float, float]] = {}  # product tracks, last frame
        self._names: dict[
            int, tuple[Candidate, ...]
        ] = {}  # track id -> candidates, for its later remove
        # Tracks whose add was emitted (and not removed) -> the SKU that add named.
        self._accounted: dict[int, str] = {}
        self._boxes: dict[int, Box] = {}  # product tracks in view -> box (lores px)
        # Product tracks the zone still remembers -> their last box: where an item confirmed as
        # it arrived, its track lost under the hand meanwhile, was last seen. Pruned per frame.
        self._last_boxes: dict[int, Box] = {}
        # Tracks whose add was emitted (and not removed) -> (SKU, its box then): where that
        # item lies, remembered after its track is lost (see ``_covered``).
        self._placed: dict[int, tuple[str, Box]] = {}
        # Of those, tracks added as they arrived, before the zone saw them at rest: placed again
        # where they come to rest. Bounded by ``_placed``.
        self._placed_in_hand: set[int] = set()
        # Tracks whose crops a remove would have dropped but an arrival still needs (the item
        # lost under the hand pressing it down, 429746): dropped once the track is seen again,
        # whose crops then name it afresh (429406). Bounded by the bank's live tracks.
        self._stale: set[int] = set()
        # Views of the basket alone (detection image), one per ``VIEW_EVERY_S``: what it looked
        # like before an item went in unseen (see ``_vote_changed_region``). Bounded.
        self._views: deque[tuple[float, np.ndarray]] = deque(maxlen=VIEWS_KEPT)
        self._frame: Frame | None = None
        self._last_hand_s = -1e9  # last frame a hand was tracked
        self._t_s = 0.0  # the current frame's time

    def scale_live(self, t_s: float) -> bool:
        return self.has_scale and not self._settle.silent(t_s)

    def process(
        self, frame: Frame, samples: Sequence[ScaleSample] = (), capture_ns: int = 0
    ) -> list[BasketChange]:
        """One frame (and the scale samples up to its time) -> the changes decided now."""
        t_s = self._t_s = frame.t_s
        self._frame = frame
        self.times.frames += 1
        self.times.ns["capture"] += capture_ns
        start = time.perf_counter_ns()
        for sample in samples:
            self._settle.update(sample)
            self._fuser.add_sample(sample.t_s, sample.grams)
        for level_t_s, grams in self._settle.new_levels(self._levels_seen):
            self._fuser.add_level(level_t_s, grams)
        self._levels_seen = self._settle.levels_logged
        if self._motion is None or self._motion.is_moving(frame.lores_bgr):
            self._last_motion_s = t_s
        if self._basket_alone(t_s) and (
            not self._views or t_s - self._views[-1][0] >= VIEW_EVERY_S
        ):
            self._views.append((t_s, frame.lores_bgr.copy()))
        start = self.times.add("motion", start)
        if t_s - self._last_motion_s <= self._hold_s:
            self.times.detected_frames += 1
            start = self._see(frame, start)
        naming_ns = self.times.ns["recognizer"]
        changes = self._fuser.poll(
            t_s,
            self.scale_live(t_s),
            self._name_event,
            self._zone.gesture_pending(t_s),
            self._name_unexplained,
            last_hand_s=self._last_hand_s,
            remaining_namer=self._name_remaining,
            covered=self._covered,
        )
        self._note_basket(changes)
        self.times.add("basket", start)
        self.times.ns["basket"] -= self.times.ns["recognizer"] - naming_ns  # counted there
        return changes

    def _see(self, frame: Frame, start: int) -> int:
        t_s = frame.t_s
        dets = self.detector.detect(frame.lores_bgr)
        start = self.times.add("detector", start)
        tracks = self._tracker.update(dets, t_s)
        start = self.times.add("tracker", start)
        hands = [t.xyxy_px for t in tracks if t.class_id == HAND]
        self._boxes = {t.track_id: t.xyxy_px for t in tracks if t.class_id == PRODUCT}
        self._last_boxes.update(self._boxes)
        if hands:
            self._last_hand_s = t_s
        centres: dict[int, tuple[float, float]] = {}
        for tr in tracks:
            if tr.class_id != PRODUCT or tr.detection_index < 0:
                continue
            if tr.track_id in self._stale:
                self._stale.discard(tr.track_id)
                self._bank.drop(tr.track_id)
            centres[tr.track_id] = centre(tr.xyxy_px)
            covered = max((overlap_fraction(tr.xyxy_px, h) for h in hands), default=0.0)
            # Best crops: confidently detected, no hand over them, and still (a carried item is
            # motion-blurred; the frames after it comes to rest are the sharp ones).
            last = self._last_centre.get(tr.track_id, centres[tr.track_id])
            moved_px = abs(centres[tr.track_id][0] - last[0]) + abs(
                centres[tr.track_id][1] - last[1]
            )
            quality = tr.score * (1.0 - covered) / (1.0 + moved_px / 2.0)
            if self._bank.wants(tr.track_id, quality):
                crop = crop_main(frame.main_bgr, tr.xyxy_px, self._scale_xy)
                if crop is not None:
                    self._bank.offer(tr.track_id, quality, crop)
        self._last_centre = centres
        events = self._zone.update(tracks, t_s)
        start = self.times.add("basket", start)
        for ev in events:
            if ev.action == "add" and not ev.arriving and ev.track_id in self._placed_in_hand:
                # Its add was confirmed as it arrived: it lies here, not where the hand held it.
                self._placed_in_hand.discard(ev.track_id)
                if ev.track_id in self._placed:
                    sku, _ = self._placed[ev.track_id]
                    self._placed[ev.track_id] = (sku, self._boxes[ev.track_id])
            candidates: tuple[Candidate, ...] = ()  # named when decided (_name_event)
            if ev.action == "remove":
                # Named now, from the crops of the item as it lay in the basket; then they
                # go: if the track comes back (or jumps to the next item the hand brings),
                # what it shows then is named afresh.
                candidates = self._name(ev.track_id, "remove")
                if ev.track_id in self._fuser.arriving_tracks():
                    self._stale.add(ev.track_id)
                else:
                    self._bank.drop(ev.track_id)
            self._fuser.add_event(
                NamedEvent(
                    ev.track_id,
                    ev.action,
                    ev.t_s,
                    candidates,
                    ev.certain,
                    t_s,
                    ev.moved_t_s,
                    arriving=ev.arriving,
                )
            )
        start = self.times.add("recognizer", start)
        live = {t.track_id for t in tracks} | self._zone.tracked() | self._fuser.arriving_tracks()
        self._bank.keep_only(live)
        self._stale &= live
        self._names = {k: v for k, v in self._names.items() if k in live}
        self._last_boxes = {k: v for k, v in self._last_boxes.items() if k in live}
        return start

    def _name_event(self, ev: NamedEvent) -> tuple[Candidate, ...]:
        start = time.perf_counter_ns()
        names = self._name(ev.track_id, ev.action)
        self.times.add("recognizer", start)
        if ev.action == "add" and names and names[0].sku == self._accounted.get(ev.track_id):
            # A second add from a track whose first still stands, and its crops still show what
            # that first add named: the track was lost and found again on its old item (or its
            # crops are the old item's). That is no name for a new item, nor are the runners-up
            # of such a vote: the weight decides, and the scale's own event names what came in.
            return ()
        return names

    def _name(self, track_id: int, action: str) -> tuple[Candidate, ...]:
        """The vote over the track's crops now; a remove whose track has none left (dropped
        at an earlier remove) keeps the name it had. Not the name of its add: an item named
        as it arrived was named from crops taken in the hand, and a track may since have slid
        onto the item a hand put beside it (429446: its remove was taken for the milk it
        first showed)."""
        candidates = self._vote_track(track_id)
        if candidates is None and action == "remove":
            return self._names.get(track_id, ())
        self._names[track_id] = candidates or ()
        return self._names[track_id]

    def _vote_track(self, track_id: int) -> tuple[Candidate, ...] | None:
        """The recognizer's vote over the track's best crops (None: it has none). Each crop is
        recognized once (an event waiting for its weight asks for its name every frame)."""
        recognitions = self._bank.recognitions(track_id, self.recognizer.recognize)
        return vote(recognitions) if recognitions else None

    def _note_basket(self, changes: list[BasketChange]) -> None:
        for c in changes:
            action = c.action or c.type
            sku = c.sku or (c.candidates[0].sku if c.candidates else None)
            if action == "remove" and sku is not None:
                self._forget_place(c.track_id, sku)
            if c.track_id is None or sku is None:
                continue
            if action == "add":
                self._accounted[c.track_id] = sku
                box = self._boxes.get(c.track_id) or self._last_boxes.get(c.track_id)
                if box is not None:
                    self._placed[c.track_id] = (sku, box)
                    if c.track_id not in self._zone.in_basket():
                        self._placed_in_hand.add(c.track_id)
                for memory in (self._accounted, self._placed):
                    while len(memory) > REMEMBERED_ITEMS:
                        del memory[next(iter(memory))]  # the oldest
                self._placed_in_hand &= self._placed.keys()
            elif action == "remove":
                self._accounted.pop(c.track_id, None)

    def _forget_place(self, track_id: int | None, sku: str) -> None:
        """A removed item no longer lies where it was added: its own track's place where that
        names the product, else the first place of that product."""
        if track_id in self._placed and self._placed[track_id][0] == sku:
            del self._placed[track_id]
            return
        for k, (placed, _) in self._placed.items():
            if placed == sku:
                del self._placed[k]
                return

    def _covered(self, track_id: int) -> frozenset[str]:
        """Products added earlier whose remembered place holds most (``ON_OTHER_ITEM``) of this
        track's box now: the item was put down on one of them, or the track slid onto it, and
        its crops show that product's pixels. A track lost meanwhile (under the hand, or
        as the hand uncovers the item) is judged by its last box (430358)."""
        box = self._boxes.get(track_id) or self._last_boxes.get(track_id)
        if box is None:
            return frozenset()
        return frozenset(
            sku for k, (sku, place) in self._placed.items()
            if k != track_id and overlap_fraction(box, place) >= ON_OTHER_ITEM
        )  # fmt: skip

    def _name_unexplained(
        self, action: str, since_s: float
    ) -> list[tuple[int | None, tuple[Candidate, ...]]]:
        """Votes for the product tracks that no emitted add accounts for and that appeared, or
        moved away from where they lay, during the gesture that changed the load (``since_s``:
        when it began to change): what may have gone in unseen by the zone (carried in under
        the hand, a track that jumped to it). A track gone or lying still since before that
        gesture (an item hovered over the basket and taken away, an item that has lain in the
        basket all along) cannot be the item it brought in."""
        if action != "add":
            return []
        recent = self._zone.arrived_since(since_s - GESTURE_S)
        votes: list[tuple[int | None, tuple[Candidate, ...]]] = []
        votes += self._votes(sorted(recent - self._accounted.keys(), reverse=True)[:3])
        # Where the basket changed too: a track may show an old item found again while the new
        # one's pixels went to an old track (426701: an orange put down on a juice carton).
        return votes + self._vote_changed_region(since_s)

    def _basket_alone(self, t_s: float) -> bool:
        """Nothing moves (the motion gate, where on) and no hand was seen for a while: a view
        of the basket alone, not of a hand the detector missed."""
        still = self._motion is None or t_s - self._last_motion_s >= STILL_S
        return still and t_s - self._last_hand_s >= HAND_GONE_S

    def _vote_changed_region(
        self, since_s: float
    ) -> list[tuple[int | None, tuple[Candidate, ...]]]:
        """No track names an item that went in: the recognizer's vote on where the basket
        changed since its last view of the basket alone before the load began to move
        (``since_s``), if it is alone now too (else the change may be the hand)."""
        frame = self._frame
        if frame is None or not self._basket_alone(self._t_s):
            return []
        last = next(((t, v) for t, v in reversed(self._views) if t < since_s), None)
        if last is None:
            return []
        t_before, before = last
        box = changed_region(before, frame.lores_bgr, self._zone.polygon_px)
        crop = None if box is None else crop_main(frame.main_bgr, box, self._scale_xy)
        if box is None or crop is None:
            return []
        # The same change seen again (an add waiting for a name that fits its weight asks
        # every frame): its vote stands, not recomputed.
        key = (t_before, tuple(round(v) for v in box))
        if self._region_vote is None or self._region_vote[0] != key:
            start = time.perf_counter_ns()
            self._region_vote = (key, vote(self.recognizer.recognize([crop])))
            self.times.add("recognizer", start)
        _, named = self._region_vote
        return [(None, named)] if named else []

    def _name_remaining(self, removed_track: int) -> list[tuple[Candidate, ...]]:
        """Votes for the items lying in the basket in view now, but for the removed track (run
        only for a remove that items of several products in the basket could explain)."""
        return [
            votes for _, votes in self._votes(sorted(self._zone.lying(self._t_s) - {removed_track}))
        ]

    def _votes(self, track_ids: Sequence[int]) -> list[tuple[int, tuple[Candidate, ...]]]:
        """(track id, the recognizer's vote over its best crops); a track whose crops went (it
        vanished, or was removed) keeps the name it had then; one with neither is left out."""
        start = time.perf_counter_ns()
        named = []
        for track_id in track_ids:
            votes = self._vote_track(track_id)
            if votes is not None:
                named.append((track_id, votes))
            elif self._names.get(track_id):
                named.append((track_id, self._names[track_id]))
        self.times.add("recognizer", start)
        return named

    def named_crops(self, track_id: int) -> list[np.ndarray]:
        """The crops a track is named from now (best first; none once it is forgotten)."""
        return self._bank.crops(track_id)

    def finish(self, t_s: float) -> list[BasketChange]:
        """End of input: decide whatever still waits for the scale."""
        changes = self._fuser.flush(t_s, self.scale_live(t_s), self._name_event)
        self._note_basket(changes)
        return changes
