"""What the cart has said is in the basket: so a remove names only what can be taken out.

Fusion records every change it emits here. A remove's weight is then matched against the items
actually in the basket: the juice that was added at 1,069 g is the juice that leaves at 1,068 g,
whatever the recognizer thinks of the blurred crop of a lifted carton. A held item's own measured
grams are the best description of it (the same physical item comes out as went in); the catalog's
nominal weight is the fallback for one added without a scale.

An unresolved add is held as its candidates (the shopper will say which on the screen); a remove
takes out the held item that fits it best. Pure and bounded by the basket's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from firmware.basket.changes import BasketChange

SAME_ITEM_G = 12.0  # an item weighed twice (in, then out) reads within this ...
SAME_ITEM_REL = 0.06  # ... or this share of its weight (load-cell noise, the hand's touch)


@dataclass(frozen=True, slots=True)
class HeldItem:
    skus: tuple[str, ...]  # one when confirmed; an unresolved add's candidates, best first
    grams: int | None  # measured when it went in; None without a scale


class BasketLedger:
    def __init__(self) -> None:
        self._items: list[HeldItem] = []

    @property
    def items(self) -> tuple[HeldItem, ...]:
        return tuple(self._items)

    def skus(self) -> set[str]:
        """Every SKU the basket may hold (an unresolved add's candidates included)."""
        return {sku for item in self._items for sku in item.skus}

    def count(self, sku: str) -> int:
        """How many held items are ``sku`` (an unresolved add counts as its first candidate)."""
        return sum(item.skus[0] == sku for item in self._items if item.skus)

    def record(self, change: BasketChange) -> HeldItem | None:
        """Hold what an add put in (returned), or take out what a remove took."""
        action = change.action if change.type == "unresolved" else change.type
        if change.type == "unresolved":
            skus = tuple(c.sku for c in change.candidates)
        elif change.sku is not None:
            skus = (change.sku,)
        else:
            return None
        if action == "add":
            item = HeldItem(skus, change.grams)
            self._items.append(item)
            return item
        if action == "remove" and self._items:
            self._items.remove(self._closest(skus[0], change.grams))
        return None

    def reweigh(self, item: HeldItem, grams: int) -> None:
        """``item`` (still held) weighs ``grams``: the settled load's word after an add decided
        from its early samples, whose estimate the remove that takes it out must not be
        matched against."""
        for i, held in enumerate(self._items):
            if held is item:
                self._items[i] = HeldItem(held.skus, grams)
                return

    def _closest(self, sku: str, grams: int | None) -> HeldItem:
        """The held item a remove of ``sku`` at ``grams`` takes out: same SKU first (confirmed
        before candidate), then nearest weight."""

        def cost(item: HeldItem) -> tuple[int, float]:
            rank = item.skus.index(sku) if sku in item.skus else len(item.skus) + 1
            off = abs(item.grams - grams) if item.grams is not None and grams is not None else 0.0
            return rank, off

        return min(self._items, key=cost)

    def off_g(self, sku: str, grams: float) -> float | None:
        """How far the nearest held item of ``sku`` weighed from ``grams`` when it went in
        (None: none of them was weighed)."""
        offs = [
            abs(i.grams - grams)
            for i in self._items
            if i.skus[:1] == (sku,) and i.grams is not None
        ]
        return min(offs) if offs else None

    def fitting(
        self, grams: float, agrees: Callable[[str, float], bool], slack: float = 1.0
    ) -> tuple[str, ...]:
        """SKUs of held items that a remove of ``grams`` fits, best fit first: measured grams
        (within ``slack`` times the same-item tolerance) when the item has them, else the
        catalog's judgement (``agrees``)."""
        fits: list[tuple[float, str]] = []
        for item in self._items:
            if item.grams is not None:
                off = abs(item.grams - grams)
                if off <= slack * max(SAME_ITEM_G, SAME_ITEM_REL * item.grams):
                    fits += [(off, sku) for sku in item.skus[:1]]
            else:
                fits += [(float("inf"), sku) for sku in item.skus[:1] if agrees(sku, grams)]
        ordered: list[str] = []
        for _, sku in sorted(fits, key=lambda f: f[0]):
            if sku not in ordered:
                ordered.append(sku)
        return tuple(ordered)
