"""Fusion: a named vision event plus the scale's settled levels -> a ``BasketChange``.

Weight of an event = the settled level after the gesture minus the settled level before it,
never a single step: a hand pressing the item down, grasping it, or leaning on the basket makes
intermediate plateaus, and only the net change says what went in or out. "Before" is the last
settled level ``add_before_s`` before an add's item touched down (it is pressed down from then)
or ``remove_before_s`` before a removed item started to move (the hand grasps first); "after"
is the first level settled once the hand is gone (an add's decision time) or the item has been
lifted (a remove). An event waits at most ``wait_s`` for that level. Then:

- the recognizer is sure (top vote share >= ``min_confidence``) and the net change agrees with
  the top SKU: ``add``/``remove`` with the measured grams. "Agrees": within
  ``weight_tolerance`` of ``unit_weight_g`` for per-unit products; per-kg products take the
  measured grams, which only need to be plausible (``per_kg_range`` times the nominal weight);
- the load settled after the gesture where it was before it (a track re-found after a hand hid
  its item, an item shuffled inside the basket): nothing went in or out, so no event;
- otherwise (unsure, the weight disagrees, or the change was already claimed by another event)
  -> ``unresolved`` with the candidates, those the weight agrees with first: never a silent guess.

An event the zone was not certain of (an item first seen over the basket, or removed without
ever being seen at rest) is emitted only where the weight agrees with one of its candidates;
otherwise it is dropped: it was a shuffle or a re-found item, not a change. Each weight change
confirms one event: certain events claim it first (uncertain ones wait ``uncertain_hold_s``
while a certain event is pending or the caller says one may still come, i.e. a gesture is in
progress; otherwise there is nothing to wait for), and an event whose window overlaps a claimed
change of the same direction sees no change.

Early confirmation: the settled level needs a still window after the hand's press and the
load's bounce, most of a second on a 10 Hz scale. Before it, an event whose recognizer is sure
is confirmed from the newest raw samples (at least ``early_samples``, the last
``early_window_s``) once the hand is gone. For an add they count from ``early_release_s`` after
it came to rest and was let go (the zone's ``t_s``, not its decision ``rest_s`` later), and only
once no press can be in them: the load has come down from its peak since the item touched down
(the press released, seen on the scale: the zone sees the item stop moving only once the hand
uncovers it, often after the release), or every sample was taken once no hand was in view (a
hand still pressing makes a flat plateau that no spread test can tell from the load). Every one
of those samples, not just their median, must agree with the top SKU, so a ringing load waits
until the ringing no longer matters; the median is the grams. A per-kg product is charged by
the gram, so its samples must also span a full swing of the ringing and lie as close together
as a settled level's.

Arrivals: the zone sees an item at rest only once the releasing hand has uncovered it, 0.5-1 s
after it landed, while the scale feels the landing at once. So an item seen coming in over the
basket (``NamedEvent.arriving``) is confirmed early without the zone's rest: its early samples
(the newest ``ARRIVAL_WINDOW_S``; a per-kg item's, ``early_window_s``) all follow the load's
peak since touchdown and lie clearly below it (the press released, not still building), within
``ARRIVAL_SPREAD`` of each other, and its name from the crops taken on the way in is sure and
agrees with every one of them.
Unconfirmed, it gives way to the zone's add, whose early samples may then start from the
release the scale felt (``NamedEvent.landed_s``); confirmed, the zone's later add of that track
is the same item. An early decision's claim on the weight change lasts until the load settles
(the next settled level), so no other track's event in between takes it again.

The basket ledger (``firmware.basket.ledger``) holds what has been emitted. A remove names what
is in the basket: among the held items whose own measured grams fit the weight that left,
vision picks where it can, and one alone needs no vision (a blurred, lifted carton is still the
juice that went in), nor one that weighed in three times closer than the rest where vision is
unsure. A remove the tracker decided before the lift (the hand hides the item as it
closes on it) waits for the load to drop and takes its time from it.

The scale's own events: vision misses some gestures (an item carried in under the hand, a track
that jumps from one item to the next), the load cells do not. Once nothing is pending, no
gesture is in view and no hand has been seen for a moment, a settled level that no emitted
change accounts for becomes an event of its own: a remove named from the ledger, an add named
by the items that came into view during the gesture that moved the load and that no emitted add
accounts for, else a question with what weighs that much.

A question lists the candidates the weight agrees with first, likeliest first: the recognizer's
score times how likely that product is to weigh what was measured
(``firmware.basket.weights``).

Scale silent or absent (degraded, vision-only): a sure per-unit item is confirmed without grams;
a per-kg item needs the weight to be priced, so it is ``unresolved``.

Pure: time comes in as arguments, wall-clock times are ``t0_utc`` plus the pipeline clock.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from firmware.basket.changes import BasketChange, Candidate
from firmware.basket.ledger import SAME_ITEM_G, BasketLedger, HeldItem
from firmware.basket.weights import PLAUSIBLE_SCORE, ProductWeights
from firmware.scale.ring import FIT_RMS_G, Ring, fit_level
from smartcart.catalog import Catalog, Pricing

log = logging.getLogger(__name__)


def _covers_nothing(track_id: int) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True, slots=True)
class NamedEvent:
    track_id: int
    action: Literal["add", "remove"]
    t_s: float  # when the item came to rest (add) or crossed out (remove)
    candidates: tuple[Candidate, ...]  # recognizer vote, best first (or filled by a Namer)
    certain: bool = True  # False: the zone could not see where the item came from
    decided_t_s: float | None = None  # when the zone decided (hand gone); default t_s
    moved_t_s: float | None = None  # touched down (add) / lifted (remove); default guessed
    named_final: bool = False  # named at decision time already (kept while it waits)
    named_early: bool = False  # named for early confirmation already (even if to nothing)
    arriving: bool = False  # add: an item over the basket, not yet seen at rest (``_arrival``)
    landed_s: float | None = None  # add: its track's arrival, not yet confirmed, came then

    @property
    def decided_at_s(self) -> float:
        return self.t_s if self.decided_t_s is None else self.decided_t_s


Namer = Callable[[NamedEvent], tuple[Candidate, ...]]
# Names what may have caused a weight change no event claimed: (action, since_s) -> (track id,
# votes) of the items vision saw from about ``since_s`` (when the load began to change) that the
# basket does not yet account for, one per item. The add a track's vote names carries its id,
# so the caller accounts for that track and it names no later add.
UnexplainedNamer = Callable[[str, float], Sequence[tuple[int | None, tuple[Candidate, ...]]]]
# The items lying in the basket in view now, but for one track (the one being removed): their
# votes, one tuple per item. What a remove took out is not among them.
RemainingNamer = Callable[[int], list[tuple[Candidate, ...]]]
# Products added earlier whose place in the basket a track's box now lies on (mostly): an item
# put down on them, or a track that slid onto them. That track's crops show their pixels too.
Covered = Callable[[int], frozenset[str]]
SAMPLES_KEEP_S = 8.0  # raw samples kept for early confirmation (an add's touchdown included)
# A hand pressing an item down can make a settled level this long before the add's window
# starts (the zone sees a held item stop moving up to ~1.5 s after it touched down).
PRESS_LOOKBACK_S = 1.5
# Samples taken this long after the last hand left the view carry no press (the load's ramp).
HAND_OFF_S = 0.1
# The scale feels a touchdown up to one sample (0.1 s at 10 Hz) after it happens.
TOUCHDOWN_SLACK_S = 0.1
# A per-kg item is charged by its early samples only once they span a full swing of the load's
# ringing (3 Hz) and lie as close together as a settled level's (``SettleDetector``).
EARLY_KG_SPAN_S = 0.3
EARLY_KG_SPREAD_G = 4.0
EARLY_KG_SPREAD = 0.03
# ... or, where the cart knows how its basket rings (``firmware.scale.ring``), by the level a fit
# of that swing reads from the samples since the release (the newest ``RING_FIT_S`` at most).
RING_FIT_S = 1.0
# ... and only where the fit pins the level within this share of the item (its price; a light
# item's grams, a few noisy samples, do not: it waits for tight samples as before).
RING_FIT_SE = 0.01
# An arriving item's early samples (no vision of the hand letting go yet) must lie this close
# together: a hand still pressing, or a load just released, swings wider.
ARRIVAL_SPREAD_G = 8.0
ARRIVAL_SPREAD = 0.12
# ... over the newest this long (3 samples at 10 Hz): a per-unit item's grams are no price, and
# its weight agreeing is the evidence (a per-kg item's window is ``early_window_s``).
ARRIVAL_WINDOW_S = 0.25
# A remove whose weight one held item matches this many times more closely than the item
# vision names (that one off by more than ``SAME_ITEM_G``) is that item; the load cells' own
# noise (a few grams) is the least distance counted.
SAME_ITEM_CLOSER = 3.0
SCALE_NOISE_G = 2.0


class _Early(NamedTuple):
    """The newest raw samples' net change of an event, before a settled level exists."""

    first_s: float  # first sample's time
    last_s: float
    median: float
    low: float
    high: float
    before: float  # the load before the event's gesture
    since_s: float = -math.inf  # samples from here on follow the release (``_ring_fit``)
    still_s: float = -math.inf  # weighed under a swing: when it will have died down


class _Settling(NamedTuple):
    """An early decision waiting for the load to settle (``Fuser.add_level``)."""

    claim: tuple[float, float, str, bool]
    held: HeldItem | None  # what an add put in the ledger
    before: float  # the load before it


class Fuser:
    def __init__(
        self,
        catalog: Catalog,
        t0_utc: datetime,
        min_confidence: float = 0.55,
        weight_tolerance: float = 0.35,
        per_kg_range: tuple[float, float] = (0.4, 5.0),
        min_change_g: float = 8.0,
        quiet_s: float = 2.5,
        add_before_s: float = 0.9,
        remove_before_s: float = 0.8,
        wait_s: float = 2.0,
        uncertain_hold_s: float = 2.5,
        early_samples: int = 3,
        early_window_s: float = 0.45,
        early_release_s: float = 0.15,
        unexplained_min_g: float = 15.0,
        unexplained_after_s: float = 1.0,
        unnamed_wait_s: float = 2.0,
        hands_away_s: float = 0.5,
        hand_wait_s: float = 5.0,
        arrival_wait_s: float = 3.0,
        ring: Ring | None = None,
    ) -> None:
        if t0_utc.tzinfo is None:
            raise ValueError("t0_utc must be timezone-aware")
        self.catalog = catalog
        self.t0_utc = t0_utc
        self.min_confidence = min_confidence
        # What a product's item may weigh: every event's grams are judged by it.
        self.weights = ProductWeights(catalog, weight_tolerance, per_kg_range)
        self.min_change_g = min_change_g
        # No product weighs under twice this: a net change smaller than it is a level read
        # again (a load still ringing when an event took it), not an item.
        lightest_g = min((p.unit_weight_g for p in catalog.by_class_id()), default=0)
        self.min_item_g = max(min_change_g, lightest_g / 2)
        self.quiet_s = quiet_s
        self.add_before_s = add_before_s
        self.remove_before_s = remove_before_s
        self.wait_s = wait_s
        self.uncertain_hold_s = uncertain_hold_s
        self.early_samples = early_samples
        self.early_window_s = early_window_s
        self.early_release_s = early_release_s
        self.unexplained_min_g = unexplained_min_g
        self.unexplained_after_s = unexplained_after_s
        # An add the scale alone saw and nothing in view names yet waits this long for a name:
        # the item's track has no still crops yet, the basket is not yet alone in view.
        self.unnamed_wait_s = unnamed_wait_s
        # A hand resting on the basket weighs like an item: the scale alone reports a change
        # only once no hand has been in view this long.
        self.hands_away_s = hands_away_s
        # ... and an event with no settled level yet waits this long while hands are in view
        # (their next gesture keeps the load moving) rather than becoming a question.
        self.hand_wait_s = hand_wait_s
        # An arriving item the scale has not confirmed this long after it came over the basket
        # is left to the zone's own add (it hovers, or was put down unsure).
        self.arrival_wait_s = arrival_wait_s
        # How the basket swings on its load cells (calibrated per cart), or None: a per-kg
        # item then waits for samples as tight as a settled level's.
        self.ring = ring
        # Tracks whose arrival was confirmed: their own add, when the zone sees the rest, is
        # the same item. Bounded.
        self._arrived: deque[int] = deque(maxlen=64)
        self._last_hand_s = float("-inf")
        self._covered: Covered = _covers_nothing
        self._remaining: RemainingNamer | None = None
        # Weight changes already attributed: (from_s, to_s, action, agreed), agreed = the
        # claiming event's product matched the change (not a question). Bounded.
        self._claimed: deque[tuple[float, float, str, bool]] = deque(maxlen=64)
        self._pending: list[NamedEvent] = []
        self._levels: deque[tuple[float, float]] = deque(maxlen=512)  # (t_s, grams) settled
        # Raw (t_s, grams) of the last ``SAMPLES_KEEP_S``: the newest window and the peak since
        # a touchdown, whatever the scale's rate. Bounded.
        self._samples: deque[tuple[float, float]] = deque(maxlen=1024)
        self.ledger = BasketLedger()
        # The settled level every emitted change accounts for, (t_s, grams): a newer level
        # away from it is a change no event claimed (see ``_reconcile``).
        self._accounted_level: tuple[float, float] | None = None
        self._resettle_after: float | None = None  # an early decision's next level is its own
        # An early decision's claim, whose change lasts until the load settles: the next
        # settled level ends it (``add_level``); for an add, with the item it put in the ledger
        # and the load before it, so that the level reweighs it.
        self._settling: _Settling | None = None
        # Removes dropped because the load had not changed yet, (t_s, candidates): a lift the
        # tracker saw too early; the weight that leaves later is most likely that item.
        self._dropped_removes: deque[tuple[float, tuple[Candidate, ...]]] = deque(maxlen=8)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def arriving_tracks(self) -> set[int]:
        """Tracks whose arrival waits to be weighed: their crops still name it once the
        tracker has lost them (a hand pressing the item down hides it)."""
        return {e.track_id for e in self._pending if e.arriving}

    def add_event(self, event: NamedEvent) -> None:
        if event.action == "add" and not event.arriving:
            # The zone saw the item at rest: its add replaces the arrival still pending, and is
            # no second change where the arrival was confirmed.
            arrival = next(
                (e for e in self._pending if e.arriving and e.track_id == event.track_id), None
            )
            if arrival is not None:
                # The scale may have felt it land and let go before the zone saw the rest.
                event = replace(event, landed_s=arrival.t_s)
                self._pending.remove(arrival)
            if event.track_id in self._arrived:
                self._arrived.remove(event.track_id)
                return
        self._pending.append(event)

    def add_level(self, t_s: float, grams: float) -> None:
        """A settled level of the load cells (in time order)."""
        self._levels.append((t_s, grams))
        settling = self._settling
        if settling is not None and t_s >= settling.claim[1]:
            # The early decision's change went on until now (the load ringing, the hand's
            # press): another event's window within it sees no change of its own.
            claim = settling.claim
            if claim in self._claimed:
                self._claimed[self._claimed.index(claim)] = (claim[0], t_s, *claim[2:])
            # What the item weighs is what the settled load says (its early grams, ringing,
            # may be some per cent off: 429446, a remove then fitted another carton better).
            net = grams - settling.before
            if settling.held is not None and self.weights.agrees(settling.held.skus[0], net):
                self.ledger.reweigh(settling.held, round(net))
            self._settling = None

    def add_sample(self, t_s: float, grams: float) -> None:
        """A raw load-cell sample (in time order), for early confirmation."""
        self._samples.append((t_s, grams))
        while self._samples[0][0] < t_s - SAMPLES_KEEP_S:
            self._samples.popleft()

    def _level_at(self, t_s: float) -> float:
        """The last settled level at or before ``t_s`` (0: the tared, empty basket)."""
        level = 0.0
        for lt, grams in self._levels:
            if lt > t_s:
                break
            level = grams
        return level

    def _level_before(self, ev: NamedEvent, w0: float, now_g: float) -> float:
        """The load before ``ev``'s gesture: the level at its window's start ``w0``. For an add,
        not a level the hand's press made: while a hand holds an item down the load can lie
        still long enough to settle (a heavy item's allowed spread is wide), and the zone may
        see the item stop moving only after that, so such a plateau can precede ``w0``. A
        level logged within ``PRESS_LOOKBACK_S`` before ``w0`` and heavier than the load now
        (``now_g``) is such a press: the level before it is the one."""
        if ev.action != "add":
            return self._unpressed_level_at(w0)
        level = 0.0
        for lt, grams in self._levels:
            if lt > w0:
                break
            if lt >= w0 - PRESS_LOOKBACK_S and grams >= now_g + self.min_change_g:
                continue  # pressed down: the hand's weight on the item, not the basket's load
            level = grams
        return level

    def _unpressed_level_at(self, t_s: float) -> float:
        """A remove's load before its lift: the level at ``t_s``, unless the load rose to it
        by ``min_change_g`` or more within ``PRESS_LOOKBACK_S`` before: that plateau is a
        hand pressing another item down (a lift follows an item's own level, which lay there
        since its gesture), and the level before the rise is the load (429829: a kiwi's press
        taken for 143 g of zucchini lifted)."""
        run_start, level, below = t_s, 0.0, 0.0
        for lt, grams in self._levels:
            if lt > t_s:
                break
            if abs(grams - level) >= self.min_change_g:
                run_start, below = lt, level
            level = grams
        pressed = level - below >= self.min_change_g and t_s - run_start < PRESS_LOOKBACK_S
        return below if pressed else level

    def _moved(self, ev: NamedEvent) -> float:
        """When the item touched down (add) or was lifted (remove); guessed where unknown."""
        if ev.moved_t_s is not None:
            return ev.moved_t_s
        return ev.t_s if ev.action == "add" else ev.t_s - 1.0

    def _after(self, ev: NamedEvent) -> tuple[float, float] | None:
        """(time, grams) of the first level settled once the hand is gone (add) or the item
        is lifted (remove)."""
        if ev.action == "add":
            decided = ev.decided_at_s
            # Once the hand is gone: a level settled under a hand still pressing is not it.
            since = decided - 0.2
            if self._last_hand_s > decided + self.wait_s:
                return next(((lt, g) for lt, g in self._levels if lt >= since), None)
            gone = max(since, self._last_hand_s - 0.3)
            return next(
                ((lt, g) for lt, g in self._levels if lt >= gone or self._released(ev, (lt, g))),
                None,
            )
        # A remove: the tracker may lose the item as the hand closes on it, before the lift,
        # so the first level after the drop within the wait is the one, else the first.
        since = self._moved(ev) + 0.1
        until = ev.decided_at_s + self.wait_s
        after = [(lt, g) for lt, g in self._levels if since <= lt <= until]
        if not after:
            return None
        before = self._level_at(self._moved(ev) - self.remove_before_s)
        return next(((lt, g) for lt, g in after if before - g >= self.min_change_g), after[0])

    def _released(self, ev: NamedEvent, level: tuple[float, float] | None) -> bool:
        """An add's level that no hand still in view (withdrawing) can have pressed: its still
        window began after the zone saw the hand let go, and the load had come down from its
        touchdown peak. A long item's hand the zone misses presses on: a plateau at the peak."""
        if level is None or level[0] < max(ev.decided_at_s - 0.2, ev.t_s + self.early_release_s):
            return False
        touched = self._moved(ev) - 0.1
        peak = max((g for t, g in self._samples if t >= touched), default=None)
        return peak is not None and peak - level[1] >= self.min_change_g

    def _window(self, ev: NamedEvent, after_t_s: float) -> tuple[float, float]:
        before = self.add_before_s if ev.action == "add" else self.remove_before_s
        return self._moved(ev) - before, after_t_s

    def _overlapping_claims(self, ev: NamedEvent, after_t_s: float) -> list[bool]:
        """``agreed`` of each claimed change of the same direction overlapping ``ev``'s window."""
        w0, w1 = self._window(ev, after_t_s)
        return [ok for a, b, sign, ok in self._claimed if a < w1 and w0 < b and sign == ev.action]

    def _claimed_overlap(self, ev: NamedEvent, after_t_s: float) -> bool:
        return bool(self._overlapping_claims(ev, after_t_s))

    def _explained(self, ev: NamedEvent) -> bool:
        """Another event already claimed this gesture's weight change and its product matched
        it: the change is explained, and this event is the same item seen twice (a track lost
        under the hand and found again), not a second change."""
        after = self._after(ev)
        return after is not None and any(self._overlapping_claims(ev, after[0]))

    def _net_grams(self, ev: NamedEvent) -> float | None | Literal[False]:
        """The event's weight (positive), None while waiting, False if the scale saw none
        (or what it saw was already explained by another event)."""
        after = self._after(ev)
        if after is None:
            return None
        if self._claimed_overlap(ev, after[0]):
            return False  # this weight change already confirmed another event
        w0, _ = self._window(ev, after[0])
        before = self._level_before(ev, w0, after[1])
        change = after[1] - before if ev.action == "add" else before - after[1]
        return change if change >= self.min_item_g else False

    def _scale_saw_nothing(self, ev: NamedEvent) -> bool:
        """The load settled after the gesture at the level it had well before it (``quiet_s``
        before the item moved, so a late track cannot hide its own weight step): nothing went
        in or out. Every catalog product weighs at least twice ``min_item_g``, so a real add
        or remove always moves the settled level that far. A move in between that another
        event confirmed is that event's, not this one's hidden step (426801: a carton's track
        found again on the pear beside it as the carton left; 430285: a hovering item come to
        rest over the basket 3 s after the cantaloupe went in); a step no event claimed is
        the scale's own event (``_reconcile``)."""
        after = self._after(ev)
        if after is None:
            return False
        w0, _ = self._window(ev, after[0])
        if abs(after[1] - self._level_at(w0)) >= self.min_item_g:
            return False
        if abs(after[1] - self._level_at(w0 - self.quiet_s)) < self.min_item_g:
            return True
        return any(agreed and a < w0 and w0 - self.quiet_s < b for a, b, _, agreed in self._claimed)

    def _went_the_other_way(self, ev: NamedEvent) -> bool:
        """An add after which the load settled an item's weight (``min_item_g``) below its
        level before: what the zone saw come in was leaving (428701: a yoghurt's track, as the
        yoghurt was lifted, taken for an item arriving), and that remove's event accounts for
        the weight. Asked with no weight, it was a question about nothing."""
        after = self._after(ev)
        if ev.action != "add" or after is None:
            return False
        w0, _ = self._window(ev, after[0])
        return after[1] - self._level_before(ev, w0, after[1]) <= -self.min_item_g

    def _anothers_change(self, ev: NamedEvent) -> bool:
        """The only change in ``ev``'s window went to another event (a question about it
        included) and weighs nothing like any product ``ev`` names: the load cells say its
        item did not move (429012: the milk's track crossed out as a potato was lifted; the
        103 g that left went to the potato's question, and the milk's remove was asked with
        no weight)."""
        after = self._after(ev)
        if after is None or not ev.candidates or not self._claimed_overlap(ev, after[0]):
            return False
        w0, _ = self._window(ev, after[0])
        before = self._level_before(ev, w0, after[1])
        change = abs(after[1] - before)
        return change >= self.min_item_g and not any(
            self.weights.agrees(c.sku, change) for c in ev.candidates if c.score >= PLAUSIBLE_SCORE
        )

    def _never_left(self, ev: NamedEvent) -> bool:
        """A remove during which the load never dipped below its level before the lift: nothing
        left, even if another gesture's add moved the level since (a long item whose end the
        hand swung across the rim while the next item went in)."""
        if ev.action != "remove":
            return False
        before = self._level_at(self._moved(ev) - self.remove_before_s)
        seen = [g for t, g in self._samples if t >= self._moved(ev)]
        return bool(seen) and min(seen) > before - self.min_change_g

    def _early(self, ev: NamedEvent, window_s: float | None = None) -> _Early | None:
        """The net change over the newest raw samples since the hand is gone (add: the zone saw
        it go; remove: the lift and its ramp), or None while there are too few or, for an add,
        the press may still be on: not seen released (the load come down from its peak since
        touchdown) and the samples not all taken once no hand was in view. An arriving item's
        samples are ``_landed``'s, over the newest ``window_s`` (default ``early_window_s``)."""
        if ev.landed_s is not None:
            # Seen arriving first: the samples since the release the scale saw count too.
            landed = self._early(replace(ev, t_s=ev.landed_s, arriving=True, landed_s=None))
            if landed is not None:
                return landed
        # An add's t_s is when it came to rest, let go; a remove's samples follow its lift.
        since = ev.t_s + self.early_release_s if ev.action == "add" else self._moved(ev) + 0.3
        early = self._early_since(ev, since)
        if early is None or ev.action != "add":
            return early
        touchdown_s, (peak_t, peak_g) = self._peak_since_touchdown(early.before + early.median / 2)
        if ev.arriving:
            return self._landed(ev, since, (peak_t, peak_g), window_s)
        if touchdown_s > ev.t_s + TOUCHDOWN_SLACK_S:
            # The scale felt the item land after the zone saw it at rest: what the zone saw
            # lie still was an item held over the basket, by a hand the detector missed, and
            # that hand presses on (430696: a leek charged 397 g for 305 g). Only the load
            # come down from its peak, every sample, says it let go.
            below_peak_g = peak_g - early.before - early.high
            released = peak_t < early.first_s and below_peak_g >= self.min_change_g
            return early if released else None
        if peak_g - early.before - early.median >= self.min_change_g:
            return early  # the press released
        # Maybe still the hand's press, unless no hand was in view for any of the samples.
        return self._early_since(ev, max(since, self._last_hand_s + HAND_OFF_S))

    def _landed(
        self,
        ev: NamedEvent,
        since: float,
        peak: tuple[float, float],
        window_s: float | None,
    ) -> _Early | None:
        """An arriving item's early samples, or None: all taken after the load's peak since
        touchdown and ``min_change_g`` or more below it (the hand's press released; a plateau
        under a peak yet to come, or at the peak give or take the cells' noise, is the hand
        still pressing: 429418, a soyghurt read 118 g heavy), and as close together as an item
        at rest rings (``ARRIVAL_SPREAD``). No vision says the hand has let go yet; the scale
        must."""
        peak_t, peak_g = peak
        early = self._early_since(ev, max(since, peak_t + 1e-3), window_s)
        if early is None or peak_g - early.before - early.high < self.min_change_g:
            return None
        if early.high - early.low <= ARRIVAL_SPREAD_G + ARRIVAL_SPREAD * early.median:
            return early
        # Wider: still the press, or the load swinging as the cart knows it rings (a light
        # item let go by a hand that pressed hard swings by more than itself weighs).
        return self._ring_fit(ev, early)

    def _peak_since_touchdown(self, half_g: float) -> tuple[float, tuple[float, float]]:
        """When the load last rose through ``half_g`` (half an add's net change: the item's
        touchdown, seen by the scale) and (time, grams) of the highest raw sample since; the
        zone sees the item stop moving only once the hand uncovers it, often after the press
        was released."""
        touchdown_s, peak = -math.inf, (-math.inf, -math.inf)  # none seen: no touchdown
        for t, g in reversed(self._samples):
            if g < half_g:
                break
            touchdown_s = t
            if g > peak[1]:
                peak = (t, g)
        return touchdown_s, peak

    def _early_since(
        self, ev: NamedEvent, since: float, window_s: float | None = None
    ) -> _Early | None:
        window_s = self.early_window_s if window_s is None else window_s
        recent = [(t, g) for t, g in self._samples if t >= since]
        if recent:
            recent = [(t, g) for t, g in recent if t >= recent[-1][0] - window_s]
        if len(recent) < self.early_samples:
            return None
        w0, _ = self._window(ev, recent[0][0])
        now_g = sorted(g for _, g in recent)[len(recent) // 2]
        before = self._level_before(ev, w0, now_g)
        sign = 1.0 if ev.action == "add" else -1.0
        net = sorted(sign * (g - before) for _, g in recent)
        median = net[len(net) // 2]
        return _Early(recent[0][0], recent[-1][0], median, net[0], net[-1], before, since)

    def _sure(self, ev: NamedEvent) -> bool:
        return bool(ev.candidates) and ev.candidates[0].score >= self.min_confidence

    def _name_again(self, ev: NamedEvent) -> bool:
        """Whether to ask the namer for an add waiting on its early samples: not yet asked, or
        named unsure (the hand is still uncovering the item: sharper crops come, 429504). A
        name withheld (a track found again on its old item) is not asked for again."""
        if not ev.named_early:
            return not ev.candidates
        return ev.action == "add" and bool(ev.candidates) and not self._sure(ev)

    def _early_confirms(self, ev: NamedEvent, early: _Early) -> _Early | None:
        """The early samples ``ev`` is confirmed by, or None: the sure top SKU agrees with every
        one; one sold per kg is weighed by them only as its price needs (``_weighed``)."""
        if not self._sure(ev) or ev.candidates[0].sku in self._suspect_names(ev):
            return None
        top = ev.candidates[0]
        product = self.catalog.get(top.sku)
        if product is None:
            return None
        if product.pricing is Pricing.PER_KG:
            weighed = self._weighed(ev, early)
            if weighed is None:
                return None
            early = weighed
        median, low, high = early.median, early.low, early.high
        if ev.action == "remove":
            held = self.ledger.fitting(median, self.weights.agrees)
            if len(held) > 1:
                return None  # items of several products weigh that: see what remains (``poll``)
            if held and not self._remove_name_stands(top.sku, held, median):
                # What left weighs another held item (427309: a cucumber's track on the
                # pomegranate lifted; 430254: a satsuma's on the potato). ``decide`` weighs
                # that once the level settles.
                return None
        agrees = self.weights.agrees(top.sku, low) and self.weights.agrees(top.sku, high)
        return early if median >= self.min_change_g and agrees else None

    def _weighed(self, ev: NamedEvent, early: _Early) -> _Early | None:
        """A per-kg item's early samples as its price needs them (its grams are the price), or
        None: samples spanning a full swing of the load's ringing and as tight as a settled
        level's; or, sooner, the level under the swing where the cart knows its ring
        (``_ring_fit``)."""
        if (
            early.last_s - early.first_s >= EARLY_KG_SPAN_S
            and early.high - early.low <= EARLY_KG_SPREAD_G + EARLY_KG_SPREAD * early.median
        ):
            return early
        return self._ring_fit(ev, early)

    def _ring_fit(self, ev: NamedEvent, early: _Early) -> _Early | None:
        """``early`` read under the swing: its net change the level of the ring's fit to the
        samples since the release (the newest ``RING_FIT_S``, dropping up to two leading ones
        that may lie on the release's ramp), ``still_s`` when the swing will have died down;
        None without a ring or a fit within ``FIT_RMS_G`` and ``RING_FIT_SE``."""
        if self.ring is None:
            return None
        after = max(early.since_s, early.last_s - RING_FIT_S)
        samples = [(t, g) for t, g in self._samples if after <= t <= early.last_s]
        for skip in range(3):
            t_s, grams = [t for t, _ in samples[skip:]], [g for _, g in samples[skip:]]
            fit = fit_level(t_s, grams, self.ring)
            if fit is None:
                return None
            net = (1.0 if ev.action == "add" else -1.0) * (fit.level_g - early.before)
            if fit.rms_g <= FIT_RMS_G and fit.level_se_g <= RING_FIT_SE * abs(net):
                still_s = fit.still_s(self.ring, t_s[-1])
                return early._replace(median=net, low=net, high=net, still_s=still_s)
        return None

    def poll(
        self,
        now_s: float,
        scale_live: bool,
        namer: Namer | None = None,
        certain_may_come: bool = True,
        unexplained_namer: UnexplainedNamer | None = None,
        last_hand_s: float = float("-inf"),
        remaining_namer: RemainingNamer | None = None,
        covered: Covered | None = None,
    ) -> list[BasketChange]:
        """Decide every pending event whose weight settled or whose wait is over.

        ``namer`` names an event's item at decision time, not when it was seen: by then the
        item has lain still, uncovered, for a while, and its best crops are the sharp ones.
        ``certain_may_come``: the zone still follows a gesture that may end in a certain event
        (False lets uncertain events go as soon as their weight is known). ``last_hand_s``: when
        a hand was last in view; a load that settled while one was there may be its press.
        ``covered``: which products added earlier a track lies on (``Covered``).
        """
        out: list[BasketChange] = []
        still: list[NamedEvent] = []
        self._last_hand_s = last_hand_s
        self._covered = covered or _covers_nothing
        self._remaining = remaining_namer
        hands_away = now_s - last_hand_s >= self.hands_away_s
        yielding: list[NamedEvent] = []  # certain, but waiting for another event to match
        # Certain events first: a weight change goes to the event the zone was sure of.
        for ev in sorted(self._pending, key=lambda e: (not e.certain, e.t_s)):
            decided_at = ev.decided_at_s
            if ev.arriving:
                if scale_live and now_s - ev.t_s < self.arrival_wait_s:
                    ev, change = self._arrival(ev, namer)
                    if change is not None:
                        out.append(change)
                        self._arrived.append(ev.track_id)
                    elif not ev.named_early or self._sure(ev) or not hands_away:
                        # Named unsure, it is named again while the hand uncovers the item
                        # (better crops come: 429742, an apple first named from none); once the
                        # hands are gone they will not, and waiting would only hold back the
                        # scale's own event (429518: 1 s).
                        still.append(ev)
                continue
            if (
                not ev.certain
                and scale_live
                # still: undecided; a certain event whose name does not fit the weight is
                # itself waiting for another to claim it, so it holds nothing back; nor does
                # an arrival, whose item the zone's gesture_pending covers
                and (
                    certain_may_come
                    or any(e.certain and not e.arriving and e not in yielding for e in still)
                )
                and now_s - decided_at < self.uncertain_hold_s
            ):
                still.append(ev)  # let any certain event nearby claim the weight first
                continue
            grams = self._net_grams(ev) if scale_live or self._levels else None
            waited_s = now_s - decided_at
            if (
                grams is None
                and scale_live
                and (waited_s < self.wait_s or (not hands_away and waited_s < self.hand_wait_s))
            ):
                early = self._early(ev)
                if early is not None and not self._claimed_overlap(ev, early.first_s):
                    if namer is not None and self._name_again(ev):
                        ev = replace(ev, candidates=namer(ev), named_early=True)
                    confirmed = self._early_confirms(ev, early)
                    if confirmed is not None:
                        if ev.action == "remove" and early.first_s > ev.t_s:
                            ev = replace(ev, t_s=early.first_s)  # lost before the lift: see below
                        out.append(self._confirm_early(ev, confirmed))
                        continue
                still.append(ev)
                continue
            weighed = grams if isinstance(grams, float) else None
            if (
                ev.action == "add"
                and weighed is not None
                and not hands_away
                and now_s - decided_at < self.wait_s
                and not self._released(ev, self._after(ev))
            ):
                still.append(ev)  # the level may be the hand pressing the item down
                continue
            if (
                ev.action == "remove"
                and grams is False
                and scale_live
                and now_s - decided_at < self.wait_s
                and not self._explained(ev)
                # No lift comes without a hand: once the hands are gone, a load that never
                # dipped lost nothing, and this remove would only hold back the scale's own
                # add (429803: a lemon asked 0.5 s later behind a satsuma's lost track).
                and not (hands_away and self._never_left(ev))
            ):
                still.append(ev)  # the lift may come yet (see ``_after``)
                continue
            if (
                scale_live
                and grams is False
                and (
                    self._scale_saw_nothing(ev)
                    or self._explained(ev)
                    or self._never_left(ev)
                    or self._went_the_other_way(ev)
                    or self._anothers_change(ev)
                )
            ):
                # A track re-found after a hand hid it, or an item shuffled inside the basket:
                # vision saw an item "arrive" or "leave", the load cells say nothing did.
                log.info("%s at %.2f s (track %d) dropped: the load did not change", ev.action,
                         ev.t_s, ev.track_id)  # fmt: skip
                if ev.action == "remove":
                    if namer is not None and not ev.candidates:
                        ev = replace(ev, candidates=namer(ev))
                    self._dropped_removes.append((ev.t_s, ev.candidates))
                continue
            if namer is not None and not ev.named_final:
                # Named once, at decision time; an event held back below keeps its name
                # rather than running the recognizer again every frame.
                ev = replace(ev, candidates=namer(ev), named_final=True)
            if (
                weighed is not None
                and ev.action == "add"
                and ev.candidates
                and ev.candidates[0].sku in self.ledger.skus()
                and (
                    ev.candidates[0].sku in self._suspect_names(ev)
                    or ev.candidates[0].score < self.min_confidence
                )
                and now_s - decided_at < self.uncertain_hold_s
                and (not hands_away or self._other_add_pending(ev))
            ):
                # An item first seen over the basket, or lying where an earlier item lies, or one
                # named unsurely, as a product already in it (``_suspect_names``): most likely
                # that item found again, or its pixels in the crops (its track lost under the
                # item put down on it, whose own event may come once the hand is gone). Let
                # another event claim this weight first (425304: a sweet potato found again
                # took the weight of the milk put on it; 425310: a juice carton nudged by the
                # hand, the yoghurt's). A second one of that product waits only for the hand.
                still.append(ev)
                continue
            if (
                weighed is not None
                and ev.certain  # an uncertain one no candidate fits is dropped below anyway
                and not self.weights.fitting(ev.candidates, weighed)
                and now_s - decided_at < self.uncertain_hold_s
            ):
                # No candidate matches the weight: this may be an old item's track found again
                # while the hand brings a new one in. Let the gesture's own event, which may
                # match, claim the weight first (the new item is often seen only once the hand
                # has gone, so wait even when no gesture is in view; it is a question anyway).
                still.append(ev)
                yielding.append(ev)
                continue
            after = self._after(ev) if weighed is not None else None
            if after is not None and ev.action == "remove" and after[0] > ev.t_s:
                # The tracker lost the item before it was lifted (a grasping hand hides it):
                # it left when the load settled without it.
                ev = replace(ev, t_s=after[0])
            named_by: int | None = None  # another track whose crops named this add
            if ev.action == "add" and weighed is not None and unexplained_namer is not None:
                ev, named_by = self._named_by_what_arrived(ev, weighed, unexplained_namer)
            still_there: Counter[str] | None = None
            if ev.action == "remove" and weighed is not None and self._several_fit(weighed):
                # Items of different products in the basket weigh what left: the name the
                # track carries may be its neighbour's (a track that slid from one carton to
                # the next). What still lies there once the hand is gone did not leave.
                if not hands_away and now_s - decided_at < self.hand_wait_s:
                    still.append(ev)
                    continue
                still_there = self._still_there(ev.track_id)
            change = self.decide(ev, weighed, scale_live=scale_live, still_there=still_there)
            if change is not None and named_by is not None:
                change = replace(change, track_id=named_by)  # the item is that track's
            if change is not None:
                out.append(self._emit(change))
                if after is None and scale_live:
                    # Emitted before its weight settled: the next level is this change's
                    # (a question already asked), not a second change for the scale alone.
                    self._resettle_after = decided_at
                if after is not None:
                    out += self._unexplained_before(ev, after, unexplained_namer)
                    agreed = change.type == ev.action  # confirmed, not a question
                    self._claimed.append((*self._window(ev, after[0]), ev.action, agreed))
                    self._accounted_level = after
                    if self._resettle_after is not None and self._resettle_after <= after[0]:
                        # An early decision's level is behind this one, which accounts for
                        # both: left set, it would rewind the explained level past this change.
                        self._resettle_after = None
        self._pending = still
        if scale_live and not still and not certain_may_come:
            out += self._scale_arrival(unexplained_namer)
            if hands_away:
                out += self._reconcile(now_s, unexplained_namer)
        return out

    def _arrival_confirms(self, ev: NamedEvent, landed: _Early) -> _Early | None:
        """The samples an arriving item that ``landed`` is confirmed by (``_early_confirms``),
        or None. A per-kg item's grams are the price: a full swing of the ringing; or, where the
        cart knows its ring, the level fitted under the swing (``_weighed``), whose residual
        (not the samples' spread, wide while it swings) says whether the load is at rest."""
        product = self.catalog.get(ev.candidates[0].sku) if ev.candidates else None
        early: _Early | None = landed
        if product is not None and product.pricing is Pricing.PER_KG:
            early = self._early(ev) or (landed if self.ring is not None else None)
        return None if early is None else self._early_confirms(ev, early)

    def _scale_arrival(self, unexplained_namer: UnexplainedNamer | None) -> list[BasketChange]:
        """The scale's own add, confirmed as it lands, hands in view or not: an item the
        zone never saw arrive (carried in hidden in the hand, first boxed lying still), whose
        load has landed as an arrival's must (``_landed``: the press released, the samples at
        rest) and which exactly one new track in view names, surely, as a product not yet in
        the basket whose weight agrees with every sample (``_early_confirms``). Otherwise the
        scale's own event waits for the hands to go and the level to hold (``_reconcile``)."""
        if unexplained_namer is None or not self._samples or self._resettle_after is not None:
            return []
        accounted = self._accounted_level or (self._levels[0] if self._levels else None)
        if accounted is None:
            return []
        t_explained, explained = accounted
        n = min(self.early_samples, len(self._samples))
        now_g = sorted(self._samples[-i][1] for i in range(1, n + 1))[n // 2]
        if now_g - explained < self.unexplained_min_g:
            return []
        # Touchdown: where the load last rose through half its rise.
        half_g = explained + (now_g - explained) / 2
        touchdown = None
        for t, g in reversed(self._samples):
            if g < half_g:
                break
            touchdown = t
        if touchdown is None or touchdown <= t_explained:
            return []
        probe = NamedEvent(-1, "add", touchdown, (), moved_t_s=touchdown, named_early=True,
                           arriving=True)  # fmt: skip
        early = self._early(probe, ARRIVAL_WINDOW_S)
        if early is None or abs(early.before - explained) >= self.unexplained_min_g:
            return []  # not landed yet, or the load before it is no level we account for
        if self._claimed_overlap(probe, early.first_s):
            return []
        held = self.ledger.skus()
        named: list[tuple[NamedEvent, _Early]] = []
        for track_id, votes in unexplained_namer("add", touchdown):
            if track_id is None or not votes or votes[0].sku in held:
                continue  # an old item found again, or no track to account for
            ev = replace(probe, track_id=track_id, candidates=votes)
            confirmed = self._arrival_confirms(ev, early)
            if confirmed is not None:
                named.append((ev, confirmed))
        if len(named) != 1:
            return []  # nothing in view names it yet, or two things could be it
        ev, confirmed = named[0]
        self._arrived.append(ev.track_id)
        log.info("add of %.0f g at %.2f s seen landing by the scale, named by track %d",
                 confirmed.median, confirmed.first_s, ev.track_id)  # fmt: skip
        return [self._confirm_early(replace(ev, t_s=max(ev.t_s, confirmed.first_s)), confirmed)]

    def _confirm_early(self, ev: NamedEvent, early: _Early) -> BasketChange:
        """Emit ``ev`` confirmed by its early samples (``_early_confirms``): the top SKU, their
        median as its grams (a per-kg item's: what ``_weighed`` read)."""
        top = ev.candidates[0]
        at = self.t0_utc + timedelta(seconds=ev.t_s)
        change = BasketChange(
            ev.action, at, ev.t_s, sku=top.sku, grams=round(early.median),
            confidence=top.score, track_id=ev.track_id)  # fmt: skip
        held = self.ledger.record(change)
        claim = (*self._window(ev, early.first_s), ev.action, True)
        self._claimed.append(claim)
        # Decided before the load settled: the next settled level is this change's, whatever
        # the early samples' estimate said; once a swing it was weighed under has died down
        # (a heavy load's settled window tolerates its swing: 429408, a watermelon's level
        # read 31 g light mid-swing became an extra add).
        self._resettle_after = max(early.first_s, early.still_s)
        self._settling = _Settling(claim, held, early.before)
        return change

    def _arrival(
        self, ev: NamedEvent, namer: Namer | None
    ) -> tuple[NamedEvent, BasketChange | None]:
        """An item coming in, confirmed before the zone sees it at rest: the scale felt it land
        and the hand let go (``_early``), and its name, from the crops taken on the way in, is
        sure and agrees with every early sample (``_early_confirms``). Stamped with the first
        of those samples: the load at rest. The change, or None while that is not so; and the
        event, named once the load has landed, and again while its name is unsure (the
        withdrawing hand uncovers the item: sharper crops come)."""
        early = self._early(ev, ARRIVAL_WINDOW_S)
        if early is None or self._claimed_overlap(ev, early.first_s) or namer is None:
            return ev, None
        if not ev.named_early or not self._sure(ev):
            ev = replace(ev, candidates=namer(ev), named_early=True)
        early = self._arrival_confirms(ev, early)
        if early is None:
            return ev, None
        # Its window stays where it began: the load before the item came over the basket.
        at_rest = replace(ev, t_s=max(ev.t_s, early.first_s), moved_t_s=self._moved(ev))
        return ev, self._confirm_early(at_rest, early)

    def _named_by_what_arrived(
        self, ev: NamedEvent, grams: float, unexplained_namer: UnexplainedNamer
    ) -> tuple[NamedEvent, int | None]:
        """An add whose track names a product the basket already holds that its crops may show
        instead of the new item (``_suspect_names``) is named first by what else arrived during
        its gesture, or by where the basket changed, as the scale's own add is, when that
        name weighs what came in and is no product in the basket (428411: a milk carton put
        down by the cabbage, its track's crops all cabbage; 428410: a soyghurt by the papaya).
        Its own names follow. Also returns the other track whose crops gave the name, if one
        did: the change is that track's item."""
        top = ev.candidates[0] if ev.candidates else None
        if top is None or top.sku not in self._suspect_names(ev):
            return ev, None
        since, _ = self._window(ev, ev.t_s)
        offered = [o for o in unexplained_namer("add", since) if o[0] != ev.track_id]
        by_track, votes = self._likeliest(offered, grams, "add")
        if (
            not votes
            or not self.weights.agrees(votes[0].sku, grams)
            or votes[0].sku in self.ledger.skus()
        ):
            return ev, None
        named = {c.sku for c in votes}
        others = tuple(c for c in ev.candidates if c.sku not in named)
        return replace(ev, candidates=votes + others), by_track

    def _several_fit(self, grams: float) -> bool:
        """Items of more than one product in the basket fit a remove of ``grams``, and what
        still lies there can be named (``RemainingNamer``)."""
        held = self.ledger.fitting(grams, self.weights.agrees)
        return self._remaining is not None and len(held) > 1

    def _still_there(self, removed_track: int) -> Counter[str] | None:
        """The products seen lying in the basket now but for ``removed_track`` (-1: none), by
        their tracks' sure votes."""
        if self._remaining is None:
            return None
        return Counter(
            v[0].sku
            for v in self._remaining(removed_track)
            if v and v[0].score >= self.min_confidence
        )

    def _likeliest(
        self, offered: list[tuple[int | None, tuple[Candidate, ...]]], grams: float, action: str
    ) -> tuple[int | None, tuple[Candidate, ...]]:
        """Of the items vision offers for a change the scale saw alone, (track id, votes),
        the one whose name fits best: its weight agrees and, for an add, it is not already in
        the basket (an old item's track found again is no new item); then a track's vote before
        the vote on where the basket changed (the hand may have shifted a neighbour there too);
        then closest to the catalog's nominal weight, then the surest. ``(None, ())`` when
        nothing is offered."""
        held = self.ledger.skus()

        def rank(
            item: tuple[int | None, tuple[Candidate, ...]],
        ) -> tuple[bool, bool, bool, float, float]:
            c = item[1]
            if not c:
                return (False, False, False, float("-inf"), 0.0)
            product = self.catalog.get(c[0].sku)
            off = abs(math.log(grams / product.unit_weight_g)) if product else float("inf")
            new_item = action != "add" or c[0].sku not in held
            return (
                self.weights.agrees(c[0].sku, grams),
                new_item,
                item[0] is not None,
                -off,
                c[0].score,
            )

        return max(offered, key=rank) if offered else (None, ())

    def _suspect_names(self, ev: NamedEvent) -> set[str]:
        """Products already in the basket that an add's crops may show instead of the new item:
        for an item first seen over the basket (perhaps an old one found again), any of them;
        otherwise those whose place its box lies on (``Covered``: put down on them, or its
        track slid onto them). Such a name confirms nothing there, and a question asks it
        last."""
        if ev.action != "add":
            return set()
        held = set(self.ledger.skus())
        return held if not ev.certain else held & self._covered(ev.track_id)

    def _other_add_pending(self, ev: NamedEvent) -> bool:
        return any(
            e.action == "add" and not e.arriving and (e.track_id, e.t_s) != (ev.track_id, ev.t_s)
            for e in self._pending
        )

    def _emit(self, change: BasketChange) -> BasketChange:
        self.ledger.record(change)
        return change

    def flush(
        self, now_s: float, scale_live: bool, namer: Namer | None = None
    ) -> list[BasketChange]:
        """End of input: decide everything still waiting."""
        return self.poll(now_s + self.wait_s + 1e6, scale_live, namer)

    def decide(
        self,
        ev: NamedEvent,
        grams: float | None,
        scale_live: bool,
        still_there: Counter[str] | None = None,
    ) -> BasketChange | None:
        """The change for ``ev`` given its net weight (None: no change seen); None drops an
        uncertain event that the scale does not back up. ``still_there``: of a remove, the
        products seen lying in the basket afterwards (those of which the basket held no more
        than are still seen did not leave)."""
        at = self.t0_utc + timedelta(seconds=ev.t_s)
        if ev.action == "remove" and grams is not None:
            held = self.ledger.fitting(grams, self.weights.agrees)
            named = ev.candidates[0].sku if self._sure(ev) else None
            if len(held) > 1 and (
                named is None
                or (named in held and not self._remove_name_stands(named, held, grams))
            ):
                # Vision is unsure, or its sure name weighed in far off (430522): held items
                # three times farther from what left than the best fit did not leave (430412:
                # 1,022 g left; the yoghurt had weighed 1,021, the mandarin carton 1,038 g).
                # What still lies in view cannot overrule that: the same vision names it.
                held = tuple(o for o in held if not self._far_closer(held[0], o, grams))
            if still_there:
                gone = tuple(s for s in held if self.ledger.count(s) > still_there[s])
                if gone and len(gone) < len(held):
                    held = gone
                    kept = set(self.ledger.skus()) - set(gone)
                    ev = replace(ev, candidates=tuple(c for c in ev.candidates
                                                      if c.sku not in kept))  # fmt: skip
            top = ev.candidates[0] if ev.candidates else None
            sure_held = (
                top is not None
                and top.score >= self.min_confidence
                and top.sku in self.ledger.skus()
                and self.weights.agrees(top.sku, grams)
                and (not held or self._remove_name_stands(top.sku, held, grams))
            )
            if held and not sure_held:
                return self._decide_remove(ev, grams, held)
        top = ev.candidates[0] if ev.candidates else None
        backed = grams is not None and bool(self.weights.fitting(ev.candidates, grams))
        if not ev.certain and not backed:
            return None  # a shuffle or a re-found item: not a change, and not a guess
        suspect = self._suspect_names(ev)
        # Named as a product in the basket whose place this item lies on: its crops show that
        # product's pixels (425401: a zucchini on the asparagus; 425710: a yoghurt on the sweet
        # potato), so the name is no confirmation. (An item first seen over the basket
        # elsewhere keeps a sure name once no other event took the weight: a second one.)
        lies_on = suspect & self._covered(ev.track_id)
        sure = top is not None and top.score >= self.min_confidence and top.sku not in lies_on
        if top is not None and sure and grams is not None and self.weights.agrees(top.sku, grams):
            return BasketChange(ev.action, at, ev.t_s, sku=top.sku, grams=round(grams),
                                confidence=top.score, track_id=ev.track_id)  # fmt: skip
        if top is not None and sure and grams is None and not scale_live:
            product = self.catalog.get(top.sku)
            if product is not None and product.pricing is Pricing.PER_UNIT:
                return BasketChange(ev.action, at, ev.t_s, sku=top.sku, confidence=top.score,
                                    track_id=ev.track_id)  # fmt: skip
        candidates = ev.candidates
        if grams is not None:
            # The candidates the scale agrees with first, the likeliest first: the
            # recognizer's score times how likely that product is to weigh this much. Suspect
            # names come after the others: the crops may show the old item (425312: a
            # pineapple found again under the sour milk put on it), while the weight is new.
            # A runner-up is judged against the best name that is not suspect. Where no real
            # option fits, a faint one the weight agrees with still comes before the names it
            # rules out (430306: 99 g of carrots at 0.013 before a 1,030 g oatghurt at 0.86).
            fresh = tuple(c for c in candidates if c.sku not in suspect)
            fitting = self.weights.fitting
            fit = set(fitting(candidates, grams)) | set(fitting(fresh, grams))

            def rank(c: Candidate, grams: float = grams) -> tuple[bool, bool, bool, float]:
                agrees = self.weights.agrees(c.sku, grams)
                likelihood = self.weights.log_likelihood(c, grams) if agrees else 0.0
                return c not in fit, c.sku in suspect, not agrees, -likelihood

            candidates = tuple(sorted(candidates, key=rank))
        if not candidates and grams is not None:
            # No usable crop: offer what weighs that much.
            candidates = self.weights.by_weight(grams)
        if not candidates:
            # Neither a usable crop nor a weight: nothing to ask the shopper about. Said aloud,
            # since an item may have gone into the basket unrecorded.
            log.warning("%s at %.2f s (track %d) dropped: no crop and no weight", ev.action,
                        ev.t_s, ev.track_id)  # fmt: skip
            return None
        return BasketChange(
            "unresolved", at, ev.t_s, action=ev.action, candidates=candidates,
            grams=None if grams is None else round(grams),
            confidence=None if top is None else top.score, track_id=ev.track_id,
        )  # fmt: skip

    def _remove_name_stands(self, named: str, held: tuple[str, ...], grams: float) -> bool:
        """Whether vision's sure name ``named`` stands for a remove of ``grams`` that the held
        items ``held`` fit (best fit first, ``BasketLedger.fitting``): it weighed in within
        ``SAME_ITEM_G`` of it, or within twice the same-item tolerance and not three times as
        far as the best fit. Else another held item left: a track slid from a 429 g vine
        tomato onto the 482 g papaya lifted (488 g left); a 162 g peach left, 161 g, while the
        orange named had weighed 178 g (427909); 1,033 g left, the yoghurt had weighed 1,035,
        the milk named 1,051 g (430522: the milk's track crossed out as the hand reached past
        it; a heavy item's relative tolerance alone would let the name stand). Decided and
        early removes both ask this."""
        off = self.ledger.off_g(named, grams)
        if named in held and (off is None or off <= SAME_ITEM_G):
            return True
        if named not in self.ledger.fitting(grams, self.weights.agrees, slack=2.0):
            return False
        return not self._far_closer(held[0], named, grams)

    def _far_closer(self, best: str, named: str, grams: float) -> bool:
        """The held ``best`` item weighed in ``SAME_ITEM_CLOSER`` times closer to ``grams``
        than the held ``named`` one (the cells' noise the least distance counted)."""
        off, near = self.ledger.off_g(named, grams), self.ledger.off_g(best, grams)
        return (
            off is not None
            and near is not None
            and off > SAME_ITEM_CLOSER * max(near, SCALE_NOISE_G)
        )

    def _decide_remove(self, ev: NamedEvent, grams: float, held: tuple[str, ...]) -> BasketChange:
        """A remove whose weight fits items in the basket (``held``, best fit first): only
        those can have left. Vision chooses among them where it can; one alone needs no vision;
        several that vision cannot tell apart are a question, those first."""
        at = self.t0_utc + timedelta(seconds=ev.t_s)
        seen = {c.sku: c.score for c in ev.candidates if c.score >= PLAUSIBLE_SCORE}
        named = [sku for sku in held if sku in seen]
        if len(held) == 1 or named:
            sku = max(named, key=lambda k: seen[k]) if named else held[0]
            return BasketChange("remove", at, ev.t_s, sku=sku, grams=round(grams),
                                confidence=seen.get(sku), track_id=ev.track_id)  # fmt: skip
        return BasketChange(
            "unresolved", at, ev.t_s, action="remove", grams=round(grams),
            candidates=tuple(Candidate(sku, seen.get(sku, 0.0)) for sku in held[:3]),
            track_id=ev.track_id,
        )  # fmt: skip

    def _reconcile(
        self, now_s: float, unexplained_namer: UnexplainedNamer | None
    ) -> list[BasketChange]:
        """The scale's own event: a settled level that no emitted change accounts for.

        Vision misses some gestures (an item carried in under the hand, a lift decided before
        the item left), the load cells do not. Once nothing is pending and no gesture is in
        view, a level that has held ``unexplained_after_s`` away from the explained one is an
        add or remove of its own: a remove names what in the basket weighs that much, an add
        what vision saw arrive (or, failing that, it is a question with what weighs that much).
        """
        if not self._levels:
            return []
        t_last, level = self._levels[-1]
        if self._accounted_level is None:
            self._accounted_level = self._levels[0]
        if self._resettle_after is not None:
            # The first level after an early decision is that change's (not a later one: a
            # change no event claimed may have followed it meanwhile).
            first = next(((t, g) for t, g in self._levels if t >= self._resettle_after), None)
            if first is None:
                return []
            self._accounted_level, self._resettle_after = first, None
        t_explained, explained = self._accounted_level
        if t_last <= t_explained:
            return []
        delta = level - explained
        if abs(delta) < self.unexplained_min_g:
            self._accounted_level = (t_last, level)  # the same load, re-measured
            return []
        # The plateau's start: the settle detector re-logs a holding load as it drifts by a
        # gram or two, so the newest entry's time is not when the load came to rest. (Looked
        # for only now: this runs every frame, and an idle cart's levels are all one plateau.)
        t_level = t_last
        for lt, g in reversed(self._levels):
            if abs(g - level) >= self.unexplained_min_g:
                break
            t_level = lt
        if t_level <= t_explained:
            return []
        step = self._held_step((t_explained, explained), (t_level, level))
        if step is not None:
            # Two changes while hands stayed in view (427703: sour cream, then a plum 4 s
            # later): the first, held on its own, is reported first; the next poll the rest.
            t_level, level = step
        else:
            recent = [g for t, g in self._samples if t >= now_s - self.unexplained_after_s / 2]
            if now_s - t_level < self.unexplained_after_s or any(
                abs(g - level) >= self.unexplained_min_g for g in recent
            ):
                return []  # not yet held long enough, or the load is on the move again
        offered = self._offered((t_explained, explained), (t_level, level), unexplained_namer)
        held = self.ledger.skus()
        named = any(
            v
            and self.weights.agrees(v[0].sku, level - explained)
            and (tid is None or v[0].sku not in held)
            for tid, v in offered
        )
        if level > explained and not named and now_s - t_level < self.unnamed_wait_s:
            # Nothing in view names what weighs that yet: wait a little for the basket to be
            # alone in view, when where it changed can be named (426702: a milk carton whose
            # pixels went to the pear's old track). A track naming a product already in the
            # basket may be that item found again: wait for that view too (429930: a
            # mushroom's weight taken for a second ginger, a per-kg name fitting any weight).
            return []
        # A remove the scale saw alone: what still lies in view did not leave (hands are away).
        still_there = (
            self._still_there(-1)
            if level < explained and self._several_fit(explained - level)
            else None
        )
        return self._scale_event(
            (t_explained, explained), (t_level, level), offered, still_there=still_there
        )

    def _held_step(
        self, explained_level: tuple[float, float], new_level: tuple[float, float]
    ) -> tuple[float, float] | None:
        """(start, grams) of a level between the explained one and the new one, on the way
        there (both steps at least ``min_item_g``, in the same direction) and held at least
        ``unexplained_after_s`` before the load moved on: a change of its own. A press, above
        both, is no such level."""
        (t_explained, explained), (t_level, level) = explained_level, new_level
        up = level > explained
        start: tuple[float, float] | None = None
        for lt, g in self._levels:
            if lt <= t_explained or lt >= t_level:
                continue
            if start is not None and abs(g - start[1]) < self.unexplained_min_g:
                continue  # the same plateau, re-logged
            if start is not None and lt - start[0] >= self.unexplained_after_s:
                return start
            between = explained < g < level if up else level < g < explained
            far = min(abs(g - explained), abs(level - g)) >= self.min_item_g
            start = (lt, g) if between and far else None
        if start is not None and t_level - start[0] >= self.unexplained_after_s:
            return start
        return None

    def _unexplained_before(
        self,
        ev: NamedEvent,
        after: tuple[float, float],
        unexplained_namer: UnexplainedNamer | None,
    ) -> list[BasketChange]:
        """The scale's own event for a change that settled before ``ev``'s gesture began and
        that no event claimed: hands stayed in view from one gesture to the next, so no
        ``_reconcile`` ran between them, and accounting ``ev``'s level would swallow it (a
        sweet potato put in unseen just before the asparagus, 425908). Not while another
        pending event's gesture began before that change settled: it may claim it yet."""
        accounted = self._accounted_level or (self._levels[0] if self._levels else None)
        if accounted is None or self._resettle_after is not None:
            return []
        t_explained, explained = accounted
        w0, _ = self._window(ev, after[0])
        before = self._level_before(ev, w0, after[1])
        if abs(before - explained) < self.unexplained_min_g:
            return []
        t_level = None  # when the load came to rest at ``before``: that plateau's start
        for lt, g in self._levels:
            if lt > w0:
                break
            if abs(g - before) >= self.unexplained_min_g:
                t_level = None
            elif t_level is None:
                t_level = lt
        if t_level is None or t_level <= t_explained:
            return []
        if any(a < t_level and t_explained < b for a, b, _, _ in self._claimed):
            return []  # an event claimed a change in between: not the scale's alone
        if any(
            (e.track_id, e.t_s) != (ev.track_id, ev.t_s) and self._window(e, e.t_s)[0] <= t_level
            for e in self._pending
        ):
            return []
        offered = self._offered(
            (t_explained, explained), (t_level, before), unexplained_namer, named=ev.track_id
        )
        return self._scale_event((t_explained, explained), (t_level, before), offered)

    def _left_at(self, explained: float, t_explained: float, t_level: float) -> float:
        """When the load left the explained level: the last settled level still at it."""
        return max((t for t, g in self._levels if t < t_level and abs(g - explained) <
                    self.unexplained_min_g), default=t_explained)  # fmt: skip

    def _offered(
        self,
        explained_level: tuple[float, float],
        new_level: tuple[float, float],
        unexplained_namer: UnexplainedNamer | None,
        named: int | None = None,
    ) -> list[tuple[int | None, tuple[Candidate, ...]]]:
        """(track id, votes) of what may have caused a change from the explained level to a new
        one that no event claimed: a remove, the removes vision dropped meanwhile; an add, what
        vision saw arrive since the load left the explained level. ``named``: a track whose
        event was just decided (it names nothing else)."""
        (t_explained, explained), (t_level, level) = explained_level, new_level
        if level < explained:
            return [(None, c) for t, c in self._dropped_removes
                    if t_explained - 1.0 <= t <= t_level]  # fmt: skip
        if unexplained_namer is None:
            return []
        start = self._left_at(explained, t_explained, t_level)
        return [o for o in unexplained_namer("add", start) if named is None or o[0] != named]

    def _scale_event(
        self,
        explained_level: tuple[float, float],
        new_level: tuple[float, float],
        offered: list[tuple[int | None, tuple[Candidate, ...]]],
        still_there: Counter[str] | None = None,
    ) -> list[BasketChange]:
        """Name, decide and account for the change from the explained level to a new one that
        no event claimed, stamped with the time the load came to rest at the new one.
        ``offered``: ``_offered``'s names for it; ``still_there``: as for ``decide``."""
        t_explained, explained = explained_level
        t_level, level = new_level
        delta = level - explained
        action: Literal["add", "remove"] = "add" if delta > 0 else "remove"
        grams = abs(delta)
        start = self._left_at(explained, t_explained, t_level)
        hints = [votes for _, votes in offered]
        track_id, candidates = self._likeliest(offered, grams, action)
        if candidates and not self.weights.agrees(candidates[0].sku, grams):
            track_id = None  # a question from several items' runners-up: none of them named it
            # No item's favourite weighs that: ask with the runners-up that do, else by weight.
            best: dict[str, float] = {}
            for c in (c for hint in hints for c in self.weights.fitting(hint, grams)):
                best[c.sku] = max(c.score, best.get(c.sku, 0.0))
            ranked = sorted(best.items(), key=lambda kv: -kv[1])[:3]
            candidates = tuple(Candidate(sku, score) for sku, score in ranked)
        ev = NamedEvent(-1 if track_id is None else track_id, action, t_level, candidates,
                        certain=True, named_final=True)  # fmt: skip
        change = self.decide(ev, grams, scale_live=True, still_there=still_there)
        self._claimed.append((start, t_level, action, True))
        self._accounted_level = (t_level, level)
        self._dropped_removes.clear()
        log.info("%s of %.0f g at %.2f s seen by the scale alone", action, grams, t_level)
        return [self._emit(replace(change, track_id=track_id))] if change is not None else []
