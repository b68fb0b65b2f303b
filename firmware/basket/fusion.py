"""Fusion: a vision event plus the scale's settled weight step -> a ``BasketChange``.

Each named zone event waits (at most ``wait_s``) for a settled weight step of the right sign
(up for an add, down for a remove) that began within ``before_s`` before to ``wait_s`` after
the event; each step confirms at most one event. Then:

- the recognizer is sure (top vote share >= ``min_confidence``) and the step agrees with the top
  SKU's weight -> ``add``/``remove`` with the measured grams. "Agrees": within
  ``weight_tolerance`` of ``unit_weight_g`` for per-unit products; per-kg products take the
  measured grams, which only need to be plausible (``per_kg_range`` times the nominal weight);
- otherwise (unsure, or the weight disagrees, or the scale saw nothing) -> ``unresolved`` with
  the candidates, those the weight agrees with first: never a silent guess.

A remove the zone was not certain of (an item only presumed in the basket) is emitted only
where a weight step agrees with one of its candidates; otherwise it is dropped, not guessed.

Scale silent or absent (degraded, vision-only): a sure per-unit item is confirmed without grams;
a per-kg item needs the weight to be priced, so it is ``unresolved``.

Pure: time comes in as arguments, wall-clock times are ``t0_utc`` plus the pipeline clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from firmware.basket.changes import BasketChange, Candidate
from firmware.scale.samples import WeightStep
from smartcart.catalog import Catalog, Pricing


@dataclass(frozen=True, slots=True)
class NamedEvent:
    track_id: int
    action: Literal["add", "remove"]
    t_s: float  # when the item came to rest (add) or crossed out (remove)
    candidates: tuple[Candidate, ...]  # recognizer vote, best first
    certain: bool = True  # False: the zone only presumed the item was in the basket


class Fuser:
    def __init__(
        self,
        catalog: Catalog,
        t0_utc: datetime,
        min_confidence: float = 0.55,
        weight_tolerance: float = 0.35,
        per_kg_range: tuple[float, float] = (0.2, 5.0),
        before_s: float = 2.5,
        wait_s: float = 1.5,
    ) -> None:
        if t0_utc.tzinfo is None:
            raise ValueError("t0_utc must be timezone-aware")
        self.catalog = catalog
        self.t0_utc = t0_utc
        self.min_confidence = min_confidence
        self.weight_tolerance = weight_tolerance
        self.per_kg_range = per_kg_range
        self.before_s = before_s
        self.wait_s = wait_s
        self._pending: list[NamedEvent] = []
        self._steps: deque[WeightStep] = deque(maxlen=64)  # settled, not yet used

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add_event(self, event: NamedEvent) -> None:
        self._pending.append(event)

    def add_step(self, step: WeightStep) -> None:
        if step.settled:
            self._steps.append(step)

    def agrees(self, sku: str, grams: float) -> bool:
        product = self.catalog.get(sku)
        if product is None:
            return False
        ratio = grams / product.unit_weight_g
        if product.pricing is Pricing.PER_KG:
            return self.per_kg_range[0] <= ratio <= self.per_kg_range[1]
        return abs(ratio - 1.0) <= self.weight_tolerance

    def _find_step(self, ev: NamedEvent) -> WeightStep | None:
        """The step of the right sign in the event's window; one that agrees with the top
        candidate wins over a closer one (a hand's press also makes steps)."""
        sign = 1.0 if ev.action == "add" else -1.0
        fits = [
            s
            for s in self._steps
            if s.grams * sign > 0 and ev.t_s - self.before_s <= s.t_s <= ev.t_s + self.wait_s
        ]
        top = ev.candidates[0].sku if ev.candidates else None
        return min(
            fits,
            key=lambda s: (top is None or not self.agrees(top, abs(s.grams)), abs(s.t_s - ev.t_s)),
            default=None,
        )

    def poll(self, now_s: float, scale_live: bool) -> list[BasketChange]:
        """Decide every pending event whose step arrived or whose wait is over."""
        out: list[BasketChange] = []
        still: list[NamedEvent] = []
        for ev in sorted(self._pending, key=lambda e: e.t_s):
            step = self._find_step(ev) if scale_live or self._steps else None
            if step is not None:
                self._steps.remove(step)
                decided = self.decide(ev, abs(step.grams), scale_live=True)
            elif now_s - ev.t_s >= self.wait_s or not scale_live:
                decided = self.decide(ev, None, scale_live=scale_live)
            else:
                still.append(ev)
                continue
            if decided is not None:
                out.append(decided)
        self._pending = still
        # Steps older than any event could still claim are noise (a bump, a shopper's hand).
        while self._steps and self._steps[0].t_s < now_s - self.before_s - self.wait_s - 5.0:
            self._steps.popleft()
        return out

    def flush(self, now_s: float, scale_live: bool) -> list[BasketChange]:
        """End of a feed: decide everything still waiting."""
        return self.poll(now_s + self.wait_s + 1e6, scale_live)

    def decide(self, ev: NamedEvent, grams: float | None, scale_live: bool) -> BasketChange | None:
        """The change for ``ev`` given the weight step's grams (None: no step); None drops an
        uncertain event that the scale does not back up."""
        at = self.t0_utc + timedelta(seconds=ev.t_s)
        top = ev.candidates[0] if ev.candidates else None
        backed = grams is not None and any(self.agrees(c.sku, grams) for c in ev.candidates)
        if not ev.certain and not backed:  # a shuffle, a re-found item: not a guess
            return None
        sure = top is not None and top.score >= self.min_confidence
        if top is not None and sure and grams is not None and self.agrees(top.sku, grams):
            return BasketChange(
                ev.action,
                at,
                ev.t_s,
                sku=top.sku,
                grams=round(grams),
                confidence=top.score,
                track_id=ev.track_id,
            )
        if top is not None and sure and grams is None and not scale_live:
            product = self.catalog.get(top.sku)
            if product is not None and product.pricing is Pricing.PER_UNIT:
                return BasketChange(
                    ev.action, at, ev.t_s, sku=top.sku, confidence=top.score, track_id=ev.track_id
                )
        candidates = ev.candidates
        if grams is not None:
            # Put the candidates the scale agrees with first: the shopper's likely answer.
            candidates = tuple(sorted(candidates, key=lambda c: not self.agrees(c.sku, grams)))
        if not candidates:
            candidates = (Candidate("unknown", 0.0),)
        return BasketChange(
            "unresolved",
            at,
            ev.t_s,
            action=ev.action,
            candidates=candidates,
            grams=None if grams is None else round(grams),
            confidence=None if top is None else top.score,
            track_id=ev.track_id,
        )
