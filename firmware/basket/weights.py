"""What a product weighs: whether a measured weight change can be a catalog product's item.

Fusion asks these questions of every event, the ledger of every remove. A per-unit product's
item weighs its catalog ``unit_weight_g`` within ``tolerance``; a per-kg product's anything in
``per_kg_range`` times that nominal (its measured grams are its price). Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from firmware.basket.changes import Candidate
from smartcart.catalog import Catalog, Pricing

PLAUSIBLE_SCORE = 0.05  # a candidate the recognizer gives less than this is not a real option
# A per-kg product "fits" almost any weight, so a per-kg runner-up far behind the favourite (a
# 0.07 vine tomato behind a 0.55 pepper) does not pass for the weight's explanation; a per-unit
# one does: its nominal weight is evidence.
RUNNER_UP_SHARE = 0.25
# How far one item's weight strays from the catalog's nominal, in log units (the scale's own
# error folded in): loose produce varies (a big and a small apple), packaged goods hardly.
PRODUCE_SPREAD = 0.2
PACKAGED_SPREAD = 0.05


@dataclass(frozen=True, slots=True)
class ProductWeights:
    catalog: Catalog
    tolerance: float = 0.35  # a per-unit item's share off its nominal weight
    per_kg_range: tuple[float, float] = (0.4, 5.0)  # a per-kg item's, times its nominal

    def agrees(self, sku: str, grams: float) -> bool:
        """``grams`` can be one item of ``sku`` (an unknown SKU agrees with nothing)."""
        product = self.catalog.get(sku)
        if product is None:
            return False
        ratio = grams / product.unit_weight_g
        if product.pricing is Pricing.PER_KG:
            return self.per_kg_range[0] <= ratio <= self.per_kg_range[1]
        return abs(ratio - 1.0) <= self.tolerance

    def fitting(self, candidates: tuple[Candidate, ...], grams: float) -> tuple[Candidate, ...]:
        """The candidates (best first) that are a real option and that the weight agrees with."""
        if not candidates:
            return ()
        floor_kg = max(PLAUSIBLE_SCORE, RUNNER_UP_SHARE * candidates[0].score)
        out = []
        for c in candidates:
            product = self.catalog.get(c.sku)
            floor = floor_kg if product and product.pricing is Pricing.PER_KG else PLAUSIBLE_SCORE
            if c.score >= floor and self.agrees(c.sku, grams):
                out.append(c)
        return tuple(out)

    def log_likelihood(self, candidate: Candidate, grams: float) -> float:
        """Log of (the recognizer's score x how likely the product is to weigh ``grams``): a
        log-normal around the catalog's nominal weight, ``PRODUCE_SPREAD`` wide for loose
        produce, ``PACKAGED_SPREAD`` for packaged goods."""
        product = self.catalog.get(candidate.sku)
        if product is None or grams <= 0:
            return -math.inf
        spread = PACKAGED_SPREAD if product.department == "Packages" else PRODUCE_SPREAD
        z = math.log(grams / product.unit_weight_g) / spread
        return math.log(max(candidate.score, 1e-6)) - 0.5 * z * z

    def by_weight(self, grams: float, n: int = 3) -> tuple[Candidate, ...]:
        """Products whose nominal item weight agrees with ``grams``, closest first (per-kg ones
        by the same tolerance as per-unit ones: any weight is plausible for them)."""
        fits = [
            p for p in self.catalog.values() if abs(grams / p.unit_weight_g - 1.0) <= self.tolerance
        ]
        fits.sort(key=lambda p: abs(grams / p.unit_weight_g - 1.0))
        return tuple(Candidate(p.sku, 0.0) for p in fits[:n])
